package dev.strangler.cli;

import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.router.RouteControl;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code strangler console}: the dashboard for a whole deployment, from outside its processes. */
@Command(name = "console", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Serves the dashboard for a deployment whose parts run in separate processes: it reads each process's",
                "/api/status (--from, default the config's http address) and the routes topic, merges them, and changes routes",
                "through the topic (the router's admin token is asked for on the page). Runs until Ctrl-C."})
final class ConsoleCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
    Path config;

    @Option(names = "--from", split = ",", paramLabel = "URL", description = "Base URLs of the Strangler processes to read, e.g. "
            + "http://strangler-data:8080,http://strangler-router:8080")
    List<URI> from;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address the console listens on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8090", description = "Port (default: ${DEFAULT-VALUE}); 0 picks a free one.")
    int port;

    @Option(names = "--duration", hidden = true, description = "Stop after this many seconds (tests).")
    Integer durationSeconds;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        List<URI> processes = new ArrayList<>();
        if (from == null || from.isEmpty()) {
            String h = loaded.http().host().equals("0.0.0.0") ? "127.0.0.1" : loaded.http().host();
            processes.add(URI.create("http://" + h + ":" + loaded.http().port()));
        } else {
            for (URI u : from) {
                if (!"http".equals(u.getScheme()) || u.getHost() == null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--from takes http://host:port URLs, not '" + u + "'");
                }
                processes.add(u);
            }
        }
        Optional<RouteControl> control = Optional.empty();
        Optional<String> bootstrap = KafkaAddress.of(loaded);
        if (loaded.router().isPresent() && bootstrap.isPresent()) {
            control = Optional.of(RouteCommands.control(loaded, bootstrap.get(), "console"));
        }
        PrintWriter out = spec.commandLine().getOut();
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(stop::countDown, "strangler-console-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try (ObservabilityServer server = new ObservabilityServer(host, port, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), List::of);
             Dashboard dashboard = new Dashboard(new ConsoleSource(processes, control, Clock.systemUTC()),
                     loaded.router().map(r -> r.adminToken()).orElse(dev.strangler.core.config.Secret.empty()), Clock.systemUTC())) {
            server.serve(dashboard);
            out.println("Console: http://" + host + ":" + server.port() + "/  reading " + processes
                    + (control.isPresent() ? " and topic " + loaded.topics().routes() : ""));
            out.flush();
            if (durationSeconds != null) {
                stop.await(durationSeconds, TimeUnit.SECONDS);
            } else {
                stop.await();
            }
        } finally {
            control.ifPresent(RouteControl::close);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // shutting down already
            }
        }
        return 0;
    }
}
