package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Json;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;
import dev.strangler.core.config.ValidatorSettings;
import dev.strangler.validator.Drift;
import dev.strangler.validator.TablePlan;
import dev.strangler.validator.TableReport;
import dev.strangler.validator.TableValidator;
import dev.strangler.validator.ValidationRecords;
import dev.strangler.validator.ValidatorConnections;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code strangler validate}: one validation pass now, over every route or one table. */
@Command(name = "validate", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Compares every table a service receives with the monolith, now: segment checksums computed inside both",
                "databases, differing segments split until the drifted rows are found and classified (missing, extra, different).",
                "Keys that differ because their change is still on its way are checked again after validator.recheckAfter.",
                "The reports also go to the <prefix>.validation topic (not with kafka.bootstrap: embedded).",
                "Exit code 0: consistent; 1: drift found; 2: bad config or usage."})
final class ValidateCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/configuration.md).")
    Path config;

    @Option(names = {"-t", "--table"}, description = "Only this table: a monolith table (public.orders) or service/table (orders/public.orders).")
    String table;

    @Option(names = "--json", description = "Print the reports as JSON (one object) instead of a table.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        List<Target> targets = targets(loaded);
        if (targets.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--table " + table
                    + " matches no route; give a monolith table (schema.table) or service/schema.table from the config");
        }
        ValidatorSettings settings = loaded.validator();
        TableValidator validator = new TableValidator(settings.segmentRows(), settings.fetchRows(), settings.recheckAfter(), settings.sampleSize(), Clock.systemUTC());
        PrintWriter err = spec.commandLine().getErr();
        List<TableReport> reports = new ArrayList<>();
        try (Connection monolith = ValidatorConnections.open(loaded.monolith(), "strangler-validate")) {
            for (Target t : targets) {
                if (t.route().transform().custom().isPresent()) {
                    err.println(t.service().name() + "/" + t.route().to() + ": not validated: the table has a custom transform (docs/transforms.md)");
                    continue;
                }
                try (Connection service = ValidatorConnections.open(t.service().database(), "strangler-validate")) {
                    TablePlan plan = TablePlan.read(t.service().name(), t.route(), monolith, service, loaded.sync().maskKeyBytes());
                    ProgressBar bar = new ProgressBar(err, plan.name());
                    TableReport report;
                    try {
                        report = validator.validate(plan, monolith, service, bar);
                    } catch (dev.strangler.validator.TableValidator.NotComparable e) {
                        // what the validator cannot compare (a filtered or transformed route across engines) is said, not guessed
                        err.println(e.getMessage());
                        continue;
                    }
                    bar.done(report);
                    reports.add(report);
                }
            }
        } catch (SQLException e) {
            err.println("strangler validate: database error: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
        if (!loaded.kafka().embedded()) {
            // the latest report per table lives on the validation topic, whoever made it
            try {
                ValidationRecords.publish(new dev.strangler.connectors.KafkaEndpoint(loaded.kafka().bootstrap(), loaded.kafka().clientProperties(),
                        loaded.kafka().partitions(), loaded.kafka().replicationFactor()), loaded.topics().validation(), reports);
            } catch (RuntimeException e) {
                err.println("strangler validate: the reports could not be published to " + loaded.topics().validation() + ": " + e.getMessage());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(reports).toPrettyString());
        } else {
            printTable(out, reports);
        }
        out.flush();
        return reports.stream().allMatch(TableReport::consistent) ? 0 : Main.EXIT_FAILED;
    }

    private record Target(ServiceSettings service, TableRoute route) {
    }

    private List<Target> targets(StranglerConfig loaded) {
        List<Target> out = new ArrayList<>();
        for (ServiceSettings service : loaded.serviceList()) {
            for (TableRoute route : service.tables()) {
                if (table == null || names(table, service, route)) {
                    out.add(new Target(service, route));
                }
            }
        }
        return out;
    }

    /** Whether {@code --table} names the route: its monolith table, or service/target table. */
    static boolean names(String table, ServiceSettings service, TableRoute route) {
        return table.equals(route.from().toString()) || table.equals(service.name() + "/" + route.to());
    }

    static ObjectNode toJson(List<TableReport> reports) {
        ObjectNode root = Json.mapper().createObjectNode();
        root.put("consistent", reports.stream().allMatch(TableReport::consistent));
        ArrayNode tables = root.putArray("tables");
        reports.forEach(r -> tables.add(ValidationRecords.report(r)));
        return root;
    }

    private static void printTable(PrintWriter out, List<TableReport> reports) {
        out.printf("%-40s %12s %12s %9s %9s %9s %9s %8s%n", "table", "monolith", "service", "missing", "extra", "different", "matching", "seconds");
        for (TableReport r : reports) {
            out.printf("%-40s %,12d %,12d %,9d %,9d %,9d %8.4f%% %8.1f%n", r.service() + "/" + r.table(), r.sourceRows(), r.targetRows(),
                    r.missing(), r.extra(), r.different(), 100 * r.matchingRatio(), r.duration().toMillis() / 1000.0);
            for (Drift d : r.sample()) {
                out.println("    " + d);
            }
            long unlisted = r.drifted() - r.sample().size();
            if (unlisted > 0) {
                out.printf("    ... and %,d more%n", unlisted);
            }
        }
        long drifted = reports.stream().mapToLong(TableReport::drifted).sum();
        out.println(drifted == 0 ? "consistent" : String.format("drift: %,d rows", drifted));
    }
}
