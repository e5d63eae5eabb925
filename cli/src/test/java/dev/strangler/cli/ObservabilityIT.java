package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.Json;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** /health and /metrics over real HTTP, from a running pipeline. */
class ObservabilityIT extends SandboxTestBase {

    @Test
    void healthAndMetricsTellTheTruthAboutTheRunningPipeline() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            var config = new ConfigLoader(k -> null, h.workDir).parse(h.config("- from: public.items"), "test");
            try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer server = new ObservabilityServer("127.0.0.1", 0, registry, pipeline::components)) {
                pipeline.start();
                String base = "http://127.0.0.1:" + server.port();
                h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 250) g");
                h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM items ORDER BY id", Duration.ofSeconds(60));

                Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(health.statusCode()).isEqualTo(200);
                    JsonNode body = Json.mapper().readTree(health.body());
                    assertThat(body.get("status").asText()).isEqualTo("UP");
                    assertThat(body.at("/components/capture:monolith/state").asText()).isEqualTo("RUNNING");
                    assertThat(body.at("/components/writer:svc/state").asText()).isEqualTo("RUNNING");
                    assertThat(body.at("/components/sync-engine/state").asText()).isEqualTo("RUNNING");
                });

                HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(metrics.statusCode()).isEqualTo(200);
                assertThat(metrics.body())
                        .contains("strangler_capture_events_total{origin=\"monolith\",table=\"public.items\"} 250.0")
                        .contains("strangler_apply_rows_total{service=\"svc\",target_table=\"public.items\"} 250.0")
                        .contains("strangler_e2e_latency_seconds_bucket{service=\"svc\",target_table=\"public.items\"")
                        .contains("strangler_e2e_latency_seconds_count{service=\"svc\",target_table=\"public.items\"} 250")
                        .contains("strangler_writer_commit_seconds_count{service=\"svc\"}")
                        .contains("strangler_writer_batch_rows_sum{service=\"svc\"} 250.0")
                        .contains("strangler_writer_consumer_lag{service=\"svc\"} 0.0")
                        .contains("strangler_capture_lag_ms{origin=\"monolith\",table=\"public.items\"}")
                        .contains("strangler_sync_routed_total{service=\"svc\",table=\"public.items\"} 250.0");

                pipeline.writers().get(0).stop();
                HttpResponse<String> down = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(down.statusCode()).isEqualTo(503);
                assertThat(Json.mapper().readTree(down.body()).at("/components/writer:svc/state").asText()).isEqualTo("STOPPED");
                assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
            }
        }
    }

    /** Every metric name the Grafana dashboard and the Prometheus alert rules in dashboards/ query. */
    private static java.util.Set<String> metricsTheDashboardsQuery() throws java.io.IOException {
        java.util.Set<String> names = new java.util.TreeSet<>();
        java.nio.file.Path dir = java.nio.file.Path.of("..", "dashboards").toAbsolutePath().normalize();
        try (var files = java.nio.file.Files.walk(dir)) {
            for (java.nio.file.Path file : files.filter(f -> f.toString().endsWith(".json") || f.toString().endsWith(".yml")).toList()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("strangler_[a-z0-9_]+").matcher(java.nio.file.Files.readString(file));
                while (m.find()) {
                    names.add(m.group());
                }
            }
        }
        return names;
    }

    @Test
    void everyMetricTheDashboardAndTheAlertsQueryIsExported() throws Exception {
        java.util.Set<String> queried = metricsTheDashboardsQuery();
        assertThat(queried).as("the dashboards query metrics").hasSizeGreaterThan(10)
                .contains("strangler_e2e_lag_ms", "strangler_validation_drifted_rows", "strangler_component_up", "strangler_router_weight_bp",
                        "strangler_router_shadow_total", "strangler_router_rollbacks_total");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            // a router whose service is down and whose monolith is the harness's own /metrics server: every router metric appears
            // a two-way table, for the conflict, echo and rules metrics
            var config = new ConfigLoader(k -> null, h.workDir).parse(h.config("- {from: public.items, direction: two-way}") + "validator: {interval: 1h}\n"
                    + "router:\n  listen: {host: 127.0.0.1, port: 0}\n  admin: {host: 127.0.0.1, port: 0}\n"
                    + "  defaultUpstream: http://127.0.0.1:1\n  routes:\n    items-read:\n      match: {pathPrefix: /items}\n"
                    + "      service: http://127.0.0.1:1\n      canary: {header: X-Canary}\n      shadow: {enabled: true}\n", "test");
            try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer server = new ObservabilityServer("127.0.0.1", 0, registry, pipeline::components)) {
                pipeline.start();
                h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
                TwoWaySyncIT.produce(h.topicPrefix() + ".rules", "public.items", "{\"strategy\": \"not-a-strategy\"}");
                h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM items ORDER BY id", Duration.ofSeconds(60));
                TwoWaySyncIT.awaitCaptureRunning(pipeline);
                TwoWaySyncIT.conflictOn(h, "items", "UPDATE items SET name = 'service' WHERE id = 1", "UPDATE items SET name = 'monolith' WHERE id = 1");
                String base = "http://127.0.0.1:" + server.port();
                String proxy = "http://127.0.0.1:" + pipeline.router().orElseThrow().proxyPort();
                assertThat(http.send(HttpRequest.newBuilder(URI.create(proxy + "/items/1")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString())
                        .statusCode()).isEqualTo(502);
                assertThat(http.send(HttpRequest.newBuilder(URI.create(proxy + "/items/1")).timeout(Duration.ofSeconds(30)).header("X-Canary", "1").build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(502);
                // the validator's metrics appear with its first pass, 10 s after start
                Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                    String body = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
                    java.util.Set<String> exported = new java.util.HashSet<>();
                    body.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
                            .forEach(l -> exported.add(l.split("[{ ]", 2)[0]));
                    assertThat(exported).as("metrics on /metrics").containsAll(queried);
                });
            }
        }
    }

    @Test
    void aMonolithThatCannotBeCapturedFromIsRefusedWithTheFix() throws Exception {
        try (EmbeddedPostgres replicaOnly = EmbeddedPostgres.start(null, Map.of("wal_level", "replica"))) {
            replicaOnly.createDatabase("shop");
            replicaOnly.execute("shop", "CREATE TABLE t (id int PRIMARY KEY)", "CREATE ROLE app LOGIN PASSWORD 'app'", "GRANT SELECT ON t TO app");
            String yaml = """
                    kafka: {bootstrap: "%s", topicPrefix: refused}
                    monolith: {url: "%s", user: app, password: app}
                    services:
                      svc: {url: "%s", user: postgres, password: postgres, tables: [public.t]}
                    """.formatted(kafka.bootstrapServers(), replicaOnly.jdbcUrl("shop"), replicaOnly.jdbcUrl("shop"));
            var file = java.nio.file.Files.createTempFile("refused", ".yaml");
            java.nio.file.Files.writeString(file, yaml);
            CliResult result = runCli("run", "--config", file.toString());
            assertThat(result.exitCode()).isEqualTo(2);
            assertThat(result.stderr())
                    .contains("monolith: wal_level is 'replica', capture needs 'logical'. Fix: ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL")
                    .contains("monolith.user: user app may not replicate. Fix: ALTER ROLE app WITH REPLICATION;")
                    .doesNotContain("password: app");
        }
    }
}
