package dev.strangler.cli;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;
import dev.strangler.core.config.ValidatorSettings;
import dev.strangler.validator.Drift;
import dev.strangler.validator.TablePlan;
import dev.strangler.validator.TableRepair;
import dev.strangler.validator.TableReport;
import dev.strangler.validator.TableValidator;
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

/** {@code strangler repair}: finds a table's drift and re-applies the monolith's rows through the apply path. */
@Command(name = "repair", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Validates one table, then repairs every drifted key through the normal apply path: the key's row is read",
                "again from the monolith, mapped like any change and written to the service's apply topic with the monolith's",
                "current position as its version (so a live change of the same row still wins); a key the monolith does not",
                "have becomes a delete. The writer of the service must be running to apply it. --dry-run prints what it would do.",
                "Exit code 0: done (or nothing to do); 1: failed; 2: bad config or usage."})
final class RepairCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/configuration.md).")
    Path config;

    @Option(names = {"-t", "--table"}, required = true, description = "The table: a monolith table (public.orders) or service/table (orders/public.orders).")
    String table;

    @Option(names = "--dry-run", description = "Print what would be done; change nothing.")
    boolean dryRun;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        List<ServiceSettings> services = new ArrayList<>();
        List<TableRoute> routes = new ArrayList<>();
        for (ServiceSettings service : loaded.serviceList()) {
            for (TableRoute route : service.tables()) {
                if (ValidateCommand.names(table, service, route)) {
                    services.add(service);
                    routes.add(route);
                }
            }
        }
        if (routes.size() != 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--table " + table + (routes.isEmpty()
                    ? " matches no route" : " matches " + routes.size() + " routes; name one as service/schema.table")
                    + " in the config");
        }
        ServiceSettings service = services.get(0);
        TableRoute route = routes.get(0);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ValidatorSettings settings = loaded.validator();
        List<Drift> drifts = new ArrayList<>();
        TableValidator validator = new TableValidator(settings.segmentRows(), settings.fetchRows(), settings.recheckAfter(), settings.sampleSize(),
                Clock.systemUTC()).withDriftListener(drifts::add);
        try (Connection monolith = ValidatorConnections.open(loaded.monolith(), "strangler-repair");
             Connection target = ValidatorConnections.open(service.database(), "strangler-repair")) {
            TablePlan plan = TablePlan.read(service.name(), route, monolith, target, loaded.sync().maskKeyBytes());
            err.printf("validating %s ...%n", plan.name());
            err.flush();
            ProgressBar bar = new ProgressBar(err, plan.name());
            TableReport report = validator.validate(plan, monolith, target, bar);
            bar.done(report);
            if (report.consistent()) {
                out.printf("%s is consistent (%,d rows); nothing to repair%n", plan.name(), report.sourceRows());
                out.flush();
                return 0;
            }
            List<TableRepair.Action> actions = new TableRepair(plan, route, Clock.systemUTC(), loaded.sync().maskKeyBytes()).plan(monolith, drifts);
            for (TableRepair.Action action : actions) {
                out.println((dryRun ? "would " : "") + action.describe());
            }
            if (dryRun) {
                out.printf("dry run: %,d drifted keys, nothing changed%n", actions.size());
                out.flush();
                return 0;
            }
            String bootstrap = loaded.kafka().embedded() ? null : loaded.kafka().bootstrap();
            if (bootstrap == null) {
                err.println("strangler repair needs a Kafka cluster it can reach; with kafka.bootstrap: embedded, run it while 'strangler run' "
                        + "serves the broker and give its address in a copy of the config");
                return Main.EXIT_CONFIG;
            }
            KafkaEndpoint kafka = new KafkaEndpoint(bootstrap, loaded.kafka().clientProperties(), loaded.kafka().partitions(),
                    loaded.kafka().replicationFactor());
            String topic = loaded.topics().apply(service.name());
            int sent = TableRepair.send(actions, kafka, topic);
            out.printf("queued %,d repairs on %s; the writer of %s applies them. Run strangler validate --table %s to confirm.%n",
                    sent, topic, service.name(), table);
            out.flush();
            return 0;
        } catch (SQLException e) {
            err.println("strangler repair: database error: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }
}
