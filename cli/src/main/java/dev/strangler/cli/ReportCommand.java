package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Json;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;
import dev.strangler.validator.TableReport;
import dev.strangler.validator.ValidationRecords;
import dev.strangler.validator.ValidatorConnections;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code strangler report}: where the migration stands, per table, for a person to read. */
@Command(name = "report", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"A migration report per table: rows in the monolith and the service and the drift the validator last found",
                "(from the <prefix>.validation topic), the writer's backlog, rows waiting for a parent, and dead letters.",
                "Needs the Kafka cluster and the databases of the config; does not change anything."})
final class ReportCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/configuration.md).")
    Path config;

    @Option(names = "--format", defaultValue = "json", description = "json or html (default: json).")
    String format;

    @Option(names = {"-o", "--output"}, description = "Write the report to this file instead of standard output.")
    Path output;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("json") && !format.equals("html")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--format is json or html, not " + format);
        }
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        if (loaded.kafka().embedded()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "strangler report reads the Kafka topics: with "
                    + "kafka.bootstrap: embedded, give it the running process's broker address in a copy of the config");
        }
        KafkaEndpoint kafka = new KafkaEndpoint(loaded.kafka().bootstrap(), loaded.kafka().clientProperties(), loaded.kafka().partitions(),
                loaded.kafka().replicationFactor());
        KafkaTopics topics = new KafkaTopics(kafka);
        Map<String, ValidationRecords.TableState> validation = new HashMap<>();
        topics.readToEnd(loaded.topics().validation(), r -> {
            if (r.value() != null) {
                validation.put(new String(r.key(), StandardCharsets.UTF_8), ValidationRecords.stateFrom(r.value()));
            }
        });
        Map<String, Long> deadLetters = new HashMap<>();
        // letters not yet replayed, per table
        DeadLetterLog log = DeadLetterLog.read(topics, loaded.topics().deadLetters());
        for (DeadLetterLog.Item item : log.pending()) {
            deadLetters.merge(item.letter().table() == null ? "?" : item.letter().table(), 1L, Long::sum);
        }

        // conflicts decided, per monolith table, from the audit topic (two-way tables)
        Map<String, Long> conflicts = new HashMap<>();
        if (loaded.services().values().stream().flatMap(sv -> sv.tables().stream()).anyMatch(TableRoute::twoWay)) {
            topics.ensureLog(java.util.Set.of(loaded.topics().conflicts()), 1);
            topics.readToEnd(loaded.topics().conflicts(), r -> {
                try {
                    conflicts.merge(Json.mapper().readTree(r.value()).path("table").asText("?"), 1L, Long::sum);
                } catch (java.io.IOException e) {
                    conflicts.merge("?", 1L, Long::sum);
                }
            });
        }

        ObjectNode root = Json.mapper().createObjectNode();
        root.put("generatedAt", Instant.now().toString());
        root.put("topicPrefix", loaded.kafka().topicPrefix());
        ArrayNode tables = root.putArray("tables");
        for (ServiceSettings service : loaded.serviceList()) {
            Map<String, Long> parked = new HashMap<>();
            try (Connection c = ValidatorConnections.open(service.database(), "strangler-report")) {
                parked.putAll(countBy(c, "SELECT target_table, count(*) FROM strangler_parked GROUP BY 1"));
            } catch (SQLException e) {
                parked.put("?", -1L);
            }
            for (TableRoute route : service.tables()) {
                String key = service.name() + "/" + route.to();
                ObjectNode t = tables.addObject();
                t.put("service", service.name());
                t.put("table", route.to().toString());
                t.put("from", route.from().toString());
                t.put("consistency", route.consistency().configName());
                Optional<TableReport> last = Optional.ofNullable(validation.get(key)).flatMap(ValidationRecords.TableState::last);
                if (last.isPresent()) {
                    TableReport r = last.get();
                    t.put("monolithRows", r.sourceRows());
                    t.put("serviceRows", r.targetRows());
                    t.put("consistent", r.consistent());
                    t.put("matchingRatio", r.matchingRatio());
                    t.put("drifted", r.drifted());
                    t.put("lastValidatedAt", r.finishedAt().toString());
                    t.set("validation", ValidationRecords.report(r));
                } else {
                    t.putNull("consistent");
                    t.put("lastValidatedAt", "never (run strangler validate, or the validator service)");
                }
                t.put("parkedRows", parked.getOrDefault(route.to().toString(), 0L));
                t.put("deadLetters", deadLetters.getOrDefault(route.to().toString(), 0L) + deadLetters.getOrDefault(route.from().toString(), 0L));
                if (route.twoWay()) {
                    t.put("conflicts", conflicts.getOrDefault(route.from().toString(), 0L));
                } else {
                    t.put("conflicts", "n/a: one-way");
                }
            }
        }
        String text = format.equals("json") ? root.toPrettyString() : html(root);
        if (output != null) {
            Files.writeString(output, text);
            spec.commandLine().getErr().println("report written to " + output);
        } else {
            PrintWriter out = spec.commandLine().getOut();
            out.println(text);
            out.flush();
        }
        return 0;
    }

    private static Map<String, Long> countBy(Connection c, String sql) throws SQLException {
        Map<String, Long> out = new HashMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    private static String html(ObjectNode root) {
        StringBuilder b = new StringBuilder();
        b.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Strangler migration report</title><style>")
                .append("body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;")
                .append("text-align:left}td.n{text-align:right}.bad{color:#b00;font-weight:bold}.ok{color:#070}</style></head><body>")
                .append("<h1>Strangler migration report</h1><p>Generated ").append(escape(root.get("generatedAt").asText()))
                .append(" for topic prefix <code>").append(escape(root.get("topicPrefix").asText())).append("</code>.</p>")
                .append("<table><tr><th>service</th><th>table</th><th>from</th><th>monolith rows</th><th>service rows</th><th>state</th>")
                .append("<th>drifted</th><th>last validated</th><th>parked</th><th>dead letters</th><th>conflicts</th></tr>");
        for (JsonNode t : root.get("tables")) {
            boolean known = t.hasNonNull("consistent");
            boolean consistent = known && t.get("consistent").asBoolean();
            b.append("<tr><td>").append(escape(t.get("service").asText())).append("</td><td>").append(escape(t.get("table").asText()))
                    .append("</td><td>").append(escape(t.get("from").asText())).append("</td><td class=n>")
                    .append(t.has("monolithRows") ? String.format("%,d", t.get("monolithRows").asLong()) : "")
                    .append("</td><td class=n>").append(t.has("serviceRows") ? String.format("%,d", t.get("serviceRows").asLong()) : "")
                    .append("</td><td class=").append(consistent ? "ok" : "bad").append(">")
                    .append(known ? (consistent ? "consistent" : "DRIFT") : "not validated").append("</td><td class=n>")
                    .append(t.has("drifted") ? t.get("drifted").asLong() : "").append("</td><td>").append(escape(t.get("lastValidatedAt").asText()))
                    .append("</td><td class=n>").append(t.get("parkedRows").asLong()).append("</td><td class=n>")
                    .append(t.get("deadLetters").asLong()).append("</td><td>").append(escape(t.get("conflicts").asText())).append("</td></tr>");
            if (t.has("validation") && t.get("validation").get("sample").size() > 0) {
                b.append("<tr><td></td><td colspan=10>");
                for (JsonNode d : t.get("validation").get("sample")) {
                    b.append(escape(d.get("kind").asText())).append(' ').append(escape(d.get("key").toString()))
                            .append(d.has("columns") ? " " + escape(d.get("columns").toString()) : "").append("<br>");
                }
                b.append("</td></tr>");
            }
        }
        return b.append("</table></body></html>").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
