package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.connectors.PostgresNames;
import dev.strangler.connectors.StartupChecks;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.DebeziumEnvelope;
import dev.strangler.core.Json;
import dev.strangler.core.RowTransform;
import dev.strangler.core.Strings;
import dev.strangler.core.TableId;
import dev.strangler.core.TableMapping;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code strangler preview --table T}: monolith rows next to the rows each service would receive through
 * the table's mapping and transforms, and which rule would reject which row. Reads the monolith only;
 * writes nothing anywhere.
 */
@Command(name = "preview", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Show monolith rows next to the rows a service would receive (renames, drops, where, derive, cast, mask, rules),",
                "and which rules would reject which rows. Reads the monolith; writes nothing."})
final class PreviewCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
    Path config;

    @Option(names = "--table", required = true, description = "A monolith table (schema.table) the config maps.")
    String table;

    @Option(names = "--service", description = "Only the route to this service (default: every service that receives the table).")
    String service;

    @Option(names = "--limit", defaultValue = "20", description = "How many rows, in key order (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        TableId id;
        try {
            id = TableId.parse(table);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--table: " + e.getMessage());
        }
        if (limit < 1 || limit > 10_000) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be between 1 and 10000, not " + limit);
        }
        List<ServiceSettings> services = loaded.serviceList().stream().filter(s -> service == null || s.name().equals(service)).toList();
        if (service != null && services.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--service " + service + " is not in the config; services: "
                    + loaded.serviceList().stream().map(ServiceSettings::name).toList());
        }
        List<String[]> routes = new ArrayList<>();
        List<TableMapping> mappings = new ArrayList<>();
        for (ServiceSettings s : services) {
            for (TableRoute route : s.tables()) {
                if (route.from().equals(id)) {
                    routes.add(new String[] {s.name(), route.to().toString()});
                    mappings.add(new TableMapping(route, loaded.sync().maskKeyBytes()));
                }
            }
        }
        if (mappings.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), table + " is not a table the config maps"
                    + (service == null ? "" : " to " + service) + "; mapped: " + loaded.capturedTables());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Connection c = StartupChecks.connect(loaded.monolith())) {
            TableSchema schema = new PostgresCatalog(c).table(id).orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(),
                    "the monolith has no table " + id));
            List<String> key = mappings.get(0).route().keyOr(schema.primaryKey());
            List<ObjectNode> rows = read(c, id, key);
            ObjectNode result = Json.mapper().createObjectNode();
            result.put("table", id.toString());
            ArrayNode items = result.putArray("rows");
            int rejected = 0;
            for (ObjectNode row : rows) {
                ObjectNode item = items.addObject();
                item.set("monolith", row);
                ArrayNode targets = item.putArray("services");
                for (int i = 0; i < mappings.size(); i++) {
                    ObjectNode target = targets.addObject().put("service", routes.get(i)[0]).put("table", routes.get(i)[1]);
                    try {
                        Optional<ApplyRecord> mapped = mappings.get(i).apply(snapshotEvent(id, row, key));
                        if (mapped.isPresent()) {
                            target.set("row", mapped.get().row());
                        } else {
                            target.put("skipped", "the row filter (where) does not pass");
                        }
                    } catch (RowTransform.RuleViolation v) {
                        rejected++;
                        target.put("rejected", "rule '" + v.rule() + "' (onRuleViolation: "
                                + mappings.get(i).route().transform().onViolation().configName() + ")");
                    } catch (RuntimeException e) {
                        rejected++;
                        target.put("error", "would be a dead letter: " + Strings.firstLine(String.valueOf(e.getMessage())));
                    }
                }
            }
            result.put("rowsShown", rows.size());
            result.put("rowsRejected", rejected);
            if (json) {
                out.println(result.toPrettyString());
            } else {
                printText(out, result);
            }
            out.flush();
            return 0;
        } catch (SQLException e) {
            spec.commandLine().getErr().println("cannot read " + id + " from the monolith (" + loaded.monolith().url() + "): "
                    + Strings.firstLine(e.getMessage()));
            return Main.EXIT_FAILED;
        }
    }

    /** The first rows in key order, as JSON objects (PostgreSQL's row_to_json: close to what a change carries). */
    private List<ObjectNode> read(Connection c, TableId id, List<String> key) throws SQLException {
        String order = key.stream().map(PostgresNames::quote).collect(Collectors.joining(", "));
        List<ObjectNode> rows = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT row_to_json(t)::text FROM (SELECT * FROM " + PostgresNames.qualified(id)
                     + (order.isEmpty() ? "" : " ORDER BY " + order) + " LIMIT " + limit + ") t")) {
            while (rs.next()) {
                rows.add((ObjectNode) Json.mapper().readTree(rs.getString(1)));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return rows;
    }

    /** A snapshot-read change of the row, as the capture would send it. */
    private static dev.strangler.core.ChangeEvent snapshotEvent(TableId id, ObjectNode row, List<String> key) {
        ObjectNode keyNode = Json.mapper().createObjectNode();
        key.forEach(k -> keyNode.set(k, row.get(k)));
        ObjectNode envelope = Json.mapper().createObjectNode();
        envelope.putNull("before");
        envelope.set("after", row);
        envelope.putObject("source").put("schema", id.schema()).put("table", id.table()).put("lsn", 0).put("ts_us", 0);
        envelope.put("op", "r");
        return DebeziumEnvelope.parse(keyNode.toString().getBytes(StandardCharsets.UTF_8), envelope.toString().getBytes(StandardCharsets.UTF_8))
                .orElseThrow();
    }

    private static void printText(PrintWriter out, ObjectNode result) {
        int n = 0;
        for (var item : result.get("rows")) {
            n++;
            out.println("row " + n + "  monolith  " + item.get("monolith"));
            for (var target : item.get("services")) {
                String where = target.get("service").asText() + "/" + target.get("table").asText();
                if (target.has("row")) {
                    out.println("        " + where + "  " + target.get("row"));
                } else if (target.has("rejected")) {
                    out.println("        " + where + "  REJECTED by " + target.get("rejected").asText());
                } else if (target.has("error")) {
                    out.println("        " + where + "  ERROR " + target.get("error").asText());
                } else {
                    out.println("        " + where + "  skipped: " + target.get("skipped").asText());
                }
            }
        }
        out.println(result.get("rowsShown").asInt() + " rows shown, " + result.get("rowsRejected").asInt() + " rejected; nothing was written");
    }
}
