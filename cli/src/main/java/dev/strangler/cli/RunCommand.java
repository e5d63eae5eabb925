package dev.strangler.cli;

import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code strangler run}: a long-lived service for one config file. */
@Command(name = "run", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Runs Strangler as a long-lived service: capture from the monolith, the sync engine and a writer",
                "per service database, with /health and /metrics over HTTP. Stops cleanly on SIGTERM / Ctrl-C.",
                "A bad config stops it before anything starts, listing every problem (exit code 2)."})
final class RunCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/configuration.md).")
    Path config;

    @Option(names = "--services", split = ",", paramLabel = "PART", converter = PartConverter.class,
            description = "Which parts this process runs: capture, sync-engine, writer, validator, router (default: all; the router only when the config has a router: section).")
    Set<Pipeline.Part> parts;

    static final class PartConverter implements picocli.CommandLine.ITypeConverter<Pipeline.Part> {
        @Override
        public Pipeline.Part convert(String value) {
            for (Pipeline.Part part : Pipeline.Part.values()) {
                if (part.cliName().equalsIgnoreCase(value.trim())) {
                    return part;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a part; use capture, sync-engine, writer, validator or router");
        }
    }

    @Override
    public Integer call() throws Exception {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Pipeline pipeline = new Pipeline(loaded, registry, Clock.systemUTC(), ApplyListener.NONE);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            LOG.info("stopping on signal");
            pipeline.close();
            stopped.countDown();
        }, "strangler-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (ObservabilityServer http = new ObservabilityServer(loaded.http().host(), loaded.http().port(), registry, pipeline::components)) {
            pipeline.start(parts == null || parts.isEmpty() ? Pipeline.allParts(loaded) : EnumSet.copyOf(parts));
            Dashboard dashboard = new Dashboard(registry, pipeline::components, pipeline::router,
                    loaded.router().map(r -> r.adminToken()).orElse(dev.strangler.core.config.Secret.empty()), Clock.systemUTC());
            http.serve(dashboard);
            LOG.info("dashboard on http://{}:{}/, health and metrics on /health and /metrics", loaded.http().host(), http.port());
            while (stopped.getCount() > 0) {
                if (pipeline.failed().isPresent()) {
                    var failed = pipeline.failed().get();
                    LOG.error("{} failed: {}; stopping", failed.name(), failed.failure().orElse("unknown"));
                    Runtime.getRuntime().removeShutdownHook(hook);
                    pipeline.close();
                    return Main.EXIT_FAILED;
                }
                stopped.await(1, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (RuntimeException e) {
            removeHook(hook);
            pipeline.close();
            throw e;
        }
        return 0;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook closes the pipeline
        }
    }
}
