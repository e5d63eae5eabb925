package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;

/** A router run apart from capture and writers learns the replication lag of its tables from their /api/status (router.lagFrom). */
class RouterLagFromIT extends SandboxTestBase {

    @Test
    void theLagGateReadsTheDataProcessesStatus() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 10) g");
            StranglerConfig dataConfig = new ConfigLoader(k -> null, h.workDir).parse(h.config("- from: public.items"), "data");
            PrometheusMeterRegistry dataMetrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            try (Pipeline data = new Pipeline(dataConfig, dataMetrics, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer server = new ObservabilityServer("127.0.0.1", 0, dataMetrics, data::components);
                 Dashboard dashboard = new Dashboard(dataMetrics, data::components, data::router, dev.strangler.core.config.Secret.empty(),
                         Clock.systemUTC())) {
                data.start(Pipeline.Part.DATA_PATH);
                server.serve(dashboard);
                h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM public.items ORDER BY id",
                        Duration.ofSeconds(60));
                String router = """
                        router:
                          listen: {host: 127.0.0.1, port: 0}
                          admin: {host: 127.0.0.1, port: 0}
                          defaultUpstream: http://127.0.0.1:1
                          lagFrom: [http://127.0.0.1:%d, http://127.0.0.1:1]
                          routes:
                            items-read:
                              match: {pathPrefix: /items}
                              service: http://127.0.0.1:1
                              tables: [public.items]
                              gates: {maxLag: 60s}
                        """.formatted(server.port());
                StranglerConfig routerConfig = new ConfigLoader(k -> null, h.workDir).parse(h.config("- from: public.items") + router, "router");
                try (Pipeline routerOnly = new Pipeline(routerConfig, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), Clock.systemUTC(),
                        ApplyListener.NONE)) {
                    routerOnly.start(EnumSet.of(Pipeline.Part.ROUTER));
                    Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                        JsonNode gates = routerOnly.router().orElseThrow().describeRoutes().get(0).path("gates").path("gates");
                        JsonNode lag = null;
                        for (JsonNode g : gates) {
                            if (g.path("name").asText().equals("replication-lag")) {
                                lag = g;
                            }
                        }
                        assertThat(lag).isNotNull();
                        assertThat(lag.path("detail").asText()).matches("public.items \\d+ ms; at most 60000 ms allowed");
                        assertThat(lag.path("passed").asBoolean()).isTrue();
                    });
                }
            }
        }
    }
}
