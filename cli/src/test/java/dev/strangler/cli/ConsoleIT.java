package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.Json;
import dev.strangler.core.Weight;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code strangler console} reads a running process's status and changes its routes through the topic. */
class ConsoleIT extends SandboxTestBase {

    @Test
    void theConsoleShowsAnotherProcessAndChangesItsRoutes() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            String router = """
                    router:
                      listen: {host: 127.0.0.1, port: 0}
                      admin: {host: 127.0.0.1, port: 0}
                      adminToken: console-secret
                      defaultUpstream: http://127.0.0.1:1
                      routes:
                        items-read:
                          match: {pathPrefix: /items}
                          service: http://127.0.0.1:1
                    """;
            StranglerConfig config = new ConfigLoader(k -> null, h.workDir).parse(h.config("- from: public.items") + router, "test");
            Path configFile = h.writeConfig("- from: public.items", router);
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer server = new ObservabilityServer("127.0.0.1", 0, registry, pipeline::components);
                 Dashboard dashboard = new Dashboard(registry, pipeline::components, pipeline::router,
                         config.router().orElseThrow().adminToken(), Clock.systemUTC())) {
                pipeline.start(EnumSet.of(Pipeline.Part.CAPTURE, Pipeline.Part.SYNC_ENGINE, Pipeline.Part.WRITER, Pipeline.Part.ROUTER));
                server.serve(dashboard);
                h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 321) g");

                int port;
                try (ServerSocket s = new ServerSocket(0)) {
                    port = s.getLocalPort();
                }
                StringWriter out = new StringWriter();
                CommandLine cli = new CommandLine(new Main());
                cli.setOut(new PrintWriter(out, true));
                CompletableFuture<Integer> console = CompletableFuture.supplyAsync(() -> cli.execute("console", "-c", configFile.toString(),
                        "--from", "http://127.0.0.1:" + server.port(), "--port", String.valueOf(port), "--duration", "30"));
                String base = "http://127.0.0.1:" + port;
                Awaitility.await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                    JsonNode status = Json.mapper().readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).build(),
                            HttpResponse.BodyHandlers.ofString()).body());
                    assertThat(status.path("applied").asLong()).isEqualTo(321);
                    assertThat(status.path("routes").get(0).path("name").asText()).isEqualTo("items-read");
                    assertThat(status.path("controls").asBoolean()).isTrue();
                    assertThat(status.path("components").toString()).contains("127.0.0.1:" + server.port() + " router");
                });
                assertThat(out.toString()).contains("Console: http://127.0.0.1:" + port + "/");
                assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/")).build(), HttpResponse.BodyHandlers.ofString()).body())
                        .contains("<title>Strangler</title>");

                HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(base + "/api/routes/items-read/weight"))
                        .header("Authorization", "Bearer wrong").POST(HttpRequest.BodyPublishers.ofString("{\"weight\":\"25%\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(401);
                HttpResponse<String> set = http.send(HttpRequest.newBuilder(URI.create(base + "/api/routes/items-read/weight"))
                        .header("Authorization", "Bearer console-secret").POST(HttpRequest.BodyPublishers.ofString("{\"weight\":\"25%\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
                // through the routes topic to this process's router: seconds on a loaded machine
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                        pipeline.router().orElseThrow().routeState("items-read").weight().equals(Weight.parse("25%")));
                assertThat(pipeline.router().orElseThrow().routeState("items-read").updatedBy()).isEqualTo("console");
                assertThat(console.get()).isZero();
            }
        }
    }
}
