package dev.strangler.cli;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.Durations;
import dev.strangler.core.Weight;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.RouteSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.router.RouteControl;
import dev.strangler.router.RouteState;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The traffic commands: {@code routes}, {@code weight}, {@code cutover}, {@code rollback}, {@code ramp}.
 * Each writes the route's next state to the routes topic, which every router replica follows, so they
 * work while the admin API is unreachable; with {@code kafka.bootstrap: embedded} they reach the
 * broker of the {@code strangler run} or {@code demo} process using the same data directory.
 */
final class RouteCommands {

    private RouteCommands() {
    }

    /** Options and plumbing every traffic command shares. */
    abstract static class Base implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/router.md).")
        Path config;

        @Spec
        CommandLine.Model.CommandSpec spec;

        abstract RouteState change(RouteControl control, StranglerConfig loaded);

        @Override
        public Integer call() {
            StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
            RouteState state;
            try (RouteControl control = control(loaded, spec)) {
                state = change(control, loaded);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return Main.EXIT_FAILED;
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(describe(routeName(), state));
            out.flush();
            return 0;
        }

        abstract String routeName();
    }

    static RouteControl control(StranglerConfig loaded, CommandLine.Model.CommandSpec spec) {
        if (loaded.router().isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "the config has no router: section; add one with routes (see docs/router.md)");
        }
        String bootstrap = KafkaAddress.of(loaded).orElseThrow(() -> new IllegalStateException(
                "kafka.bootstrap is embedded and no embedded broker runs on " + loaded.kafka().dataDir()
                        + "; start 'strangler run' or 'strangler demo' with this config first, or point kafka.bootstrap at the cluster"));
        return control(loaded, bootstrap, "cli@" + System.getenv().getOrDefault("HOSTNAME", "localhost"));
    }

    /** A writer of the config's routes topic on the given brokers, as {@code actor}; the config must have a router. */
    static RouteControl control(StranglerConfig loaded, String bootstrap, String actor) {
        Map<String, Weight> weights = new LinkedHashMap<>();
        for (RouteSettings r : loaded.router().orElseThrow().routes()) {
            weights.put(r.name(), r.initialWeight());
        }
        return new RouteControl(new KafkaEndpoint(bootstrap, loaded.kafka().clientProperties(), loaded.kafka().partitions(),
                loaded.kafka().replicationFactor()), loaded.topics().routes(), weights, Clock.systemUTC(), actor);
    }

    static String describe(String route, RouteState s) {
        StringBuilder b = new StringBuilder(route).append(": weight ").append(s.weight()).append(s.enabled() ? "" : " (route disabled)");
        s.ramp().ifPresent(r -> b.append(", ramp ").append(r.state()).append(" to ").append(r.target()).append(" by ").append(r.step())
                .append(" every ").append(human(r.every())).append(r.state().active() ? ", next step " + r.nextStepAt() : "")
                .append(r.reason().isEmpty() ? "" : " (" + r.reason() + ")"));
        b.append(" [revision ").append(s.revision()).append(", ").append(s.reason()).append("]");
        return b.toString();
    }

    private static String human(Duration d) {
        return d.toSeconds() % 60 == 0 && d.toMinutes() > 0 ? d.toMinutes() + "m" : d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    static Weight weight(String text) {
        return Weight.parse(text);
    }

    @Command(name = "weight", mixinStandardHelpOptions = true, usageHelpWidth = 110,
            description = {"Sets a route's weight (the share of requests for the service) at once on every router replica.",
                    "A running ramp is aborted. Example: strangler weight -c strangler.yaml orders-read 25%"})
    static final class SetWeight extends Base {
        @Parameters(index = "0", paramLabel = "ROUTE") String route;
        @Parameters(index = "1", paramLabel = "WEIGHT", description = "25%, 0.5% or 2500bp") String weight;
        @Option(names = "--reason", description = "Recorded with the change.") String reason = "set from the CLI";

        @Override
        RouteState change(RouteControl control, StranglerConfig loaded) {
            return control.setWeight(route, weight(weight), reason);
        }

        @Override
        String routeName() {
            return route;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true, usageHelpWidth = 110,
            description = {"Sends all of a route's requests back to the monolith at once (weight 0) on every router replica;",
                    "a running ramp ends as ROLLED_BACK. Works through Kafka, so also while the admin API is down."})
    static final class Rollback extends Base {
        @Parameters(index = "0", paramLabel = "ROUTE") String route;
        @Option(names = "--reason", description = "Recorded with the rollback.") String reason = "requested from the CLI";

        @Override
        RouteState change(RouteControl control, StranglerConfig loaded) {
            return control.rollback(route, reason);
        }

        @Override
        String routeName() {
            return route;
        }
    }

    @Command(name = "cutover", mixinStandardHelpOptions = true, usageHelpWidth = 110,
            description = {"Moves a route's weight to a target, in one step (blue-green) or gradually: --step every --every, each step",
                    "taken only while the route's gates pass (error rate and latency vs the monolith, replication lag, validator).",
                    "Example: strangler cutover -c strangler.yaml orders-read --to 50% --step 5% --every 5m"})
    static final class Cutover extends Base {
        @Parameters(index = "0", paramLabel = "ROUTE") String route;
        @Option(names = "--to", required = true, description = "Target weight: 50%, 100%, 0%.") String to;
        @Option(names = "--step", description = "Weight per step (default: the whole way in one step).") String step = "100%";
        @Option(names = "--every", description = "Time between steps: 30s, 5m, 1h (default 5m).") String every = "5m";

        @Override
        RouteState change(RouteControl control, StranglerConfig loaded) {
            Duration interval = Durations.parse(every).orElseThrow(() -> new IllegalArgumentException(
                    "--every must be a duration such as 30s, 5m or 1h, not '" + every + "'"));
            return control.startRamp(route, weight(to), weight(step), interval);
        }

        @Override
        String routeName() {
            return route;
        }
    }

    @Command(name = "ramp", mixinStandardHelpOptions = true, usageHelpWidth = 110,
            description = {"Pauses, resumes or aborts a route's ramp. Abort leaves the weight where it is; use rollback for 0."})
    static final class RampAction extends Base {
        enum Action { pause, resume, abort }

        @Parameters(index = "0", paramLabel = "ACTION", description = "pause, resume or abort") Action action;
        @Parameters(index = "1", paramLabel = "ROUTE") String route;

        @Override
        RouteState change(RouteControl control, StranglerConfig loaded) {
            return switch (action) {
                case pause -> control.pauseRamp(route, "paused from the CLI");
                case resume -> control.resumeRamp(route);
                case abort -> control.abortRamp(route);
            };
        }

        @Override
        String routeName() {
            return route;
        }
    }

    @Command(name = "routes", mixinStandardHelpOptions = true, usageHelpWidth = 110,
            description = {"Lists the routes with the state in force on the routes topic: weight, ramp, who changed it last and why.",
                    "'routes enable ROUTE' / 'routes disable ROUTE' turn a route's split on and off (off: all to the monolith)."})
    static final class Routes implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/router.md).") Path config;
        @Parameters(index = "0", arity = "0..1", paramLabel = "ACTION", description = "list (default), enable or disable") String action = "list";
        @Parameters(index = "1", arity = "0..1", paramLabel = "ROUTE") String route;
        @Option(names = "--json", description = "Print JSON (one object per route) instead of text.") boolean json;
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
            PrintWriter out = spec.commandLine().getOut();
            try (RouteControl control = control(loaded, spec)) {
                switch (action) {
                    case "list" -> {
                        for (Map.Entry<String, RouteState> e : control.read().entrySet()) {
                            out.println(json ? "{\"route\":\"" + e.getKey() + "\",\"state\":" + new String(e.getValue().toJson(),
                                    java.nio.charset.StandardCharsets.UTF_8) + "}" : describe(e.getKey(), e.getValue()));
                        }
                    }
                    case "enable", "disable" -> {
                        if (route == null) {
                            throw new CommandLine.ParameterException(spec.commandLine(), "name the route: strangler routes " + action + " ROUTE");
                        }
                        try {
                            out.println(describe(route, control.setEnabled(route, action.equals("enable"))));
                        } catch (IllegalArgumentException e) {
                            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
                        }
                    }
                    default -> throw new CommandLine.ParameterException(spec.commandLine(),
                            "'" + action + "' is not an action of routes; use list, enable or disable");
                }
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return Main.EXIT_FAILED;
            }
            out.flush();
            return 0;
        }
    }
}
