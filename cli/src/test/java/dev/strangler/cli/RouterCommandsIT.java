package dev.strangler.cli;

import com.sun.net.httpserver.HttpServer;
import dev.strangler.core.Weight;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.router.RampState;
import dev.strangler.router.TrafficRouter;
import dev.strangler.connectors.ApplyListener;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code strangler run --services router} (no databases needed) and the traffic commands, on a real
 * broker and real HTTP upstreams: every command changes the running router through the routes topic.
 */
class RouterCommandsIT extends SandboxTestBase {

    @TempDir
    Path dir;
    private HttpServer monolith;
    private HttpServer service;
    private Pipeline pipeline;
    private Path configFile;

    @BeforeEach
    void upstreams() throws Exception {
        monolith = upstream("monolith");
        service = upstream("service");
        configFile = dir.resolve("strangler.yaml");
        Files.writeString(configFile, """
                kafka: {bootstrap: '%s', topicPrefix: cli-routes}
                monolith: {url: 'jdbc:postgresql://127.0.0.1:1/unused', user: nobody}
                services: {orders: {url: 'jdbc:postgresql://127.0.0.1:1/unused', user: nobody, tables: [public.orders]}}
                http: {port: 0}
                router:
                  listen: {host: 127.0.0.1, port: 0}
                  admin: {host: 127.0.0.1, port: 0}
                  adminToken: secret
                  defaultUpstream: http://127.0.0.1:%d
                  routes:
                    orders-read:
                      match: {pathPrefix: /api/orders, methods: [GET]}
                      service: http://127.0.0.1:%d
                      stickyKey: header:X-User-Id
                      gates: {minRequests: 1000000}
                """.formatted(kafka.bootstrapServers(), monolith.getAddress().getPort(), service.getAddress().getPort()));
        StranglerConfig config = ConfigLoader.fromEnvironment().load(configFile);
        pipeline = new Pipeline(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), Clock.systemUTC(), ApplyListener.NONE);
        // the databases in this config do not exist: a router-only process must not need them
        pipeline.start(EnumSet.of(Pipeline.Part.ROUTER));
    }

    @AfterEach
    void stop() {
        pipeline.close();
        monolith.stop(0);
        service.stop(0);
    }

    private static HttpServer upstream(String side) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = ("{\"side\":\"" + side + "\"}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }

    private String side(TrafficRouter router, String user) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + router.proxyPort() + "/api/orders/1")).header("X-User-Id", user).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body().contains("service") ? "service" : "monolith";
    }

    @Test
    void theTrafficCommandsChangeTheRunningRouter() throws Exception {
        TrafficRouter router = pipeline.router().orElseThrow();
        String cfg = configFile.toString();

        CliResult weight = runCli("weight", "-c", cfg, "orders-read", "100%");
        assertThat(weight.exitCode()).as(weight.stderr()).isZero();
        assertThat(weight.stdout()).startsWith("orders-read: weight 100%");
        await().atMost(Duration.ofSeconds(2)).until(() -> router.routeState("orders-read").weight().equals(Weight.SERVICE_ONLY));
        assertThat(side(router, "u1")).isEqualTo("service");

        CliResult rollback = runCli("rollback", "-c", cfg, "orders-read", "--reason", "errors on checkout");
        assertThat(rollback.exitCode()).as(rollback.stderr()).isZero();
        await().atMost(Duration.ofSeconds(2)).until(() -> router.routeState("orders-read").weight().equals(Weight.MONOLITH_ONLY));
        assertThat(side(router, "u1")).isEqualTo("monolith");

        CliResult cutover = runCli("cutover", "-c", cfg, "orders-read", "--to", "40%", "--step", "20%", "--every", "1h");
        assertThat(cutover.exitCode()).as(cutover.stderr()).isZero();
        assertThat(cutover.stdout()).contains("weight 20%").contains("ramp RUNNING to 40% by 20% every 60m");
        await().atMost(Duration.ofSeconds(2)).until(() -> router.routeState("orders-read").ramp().map(r -> r.state() == RampState.RUNNING).orElse(false));

        CliResult again = runCli("cutover", "-c", cfg, "orders-read", "--to", "60%");
        assertThat(again.exitCode()).isEqualTo(Main.EXIT_FAILED);
        assertThat(again.stderr()).contains("has a RUNNING ramp to 40%; abort it first (strangler ramp abort orders-read)");

        assertThat(runCli("ramp", "-c", cfg, "pause", "orders-read").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(2)).until(() -> router.routeState("orders-read").ramp().map(r -> r.state() == RampState.PAUSED).orElse(false));
        assertThat(runCli("ramp", "-c", cfg, "abort", "orders-read").exitCode()).isZero();

        CliResult list = runCli("routes", "-c", cfg, "--json");
        assertThat(list.exitCode()).as(list.stderr()).isZero();
        assertThat(list.stdout()).contains("\"route\":\"orders-read\"").contains("\"weight\":\"20%\"").contains("\"state\":\"ABORTED\"");

        assertThat(runCli("routes", "-c", cfg, "disable", "orders-read").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(2)).until(() -> !router.routeState("orders-read").enabled());
    }

    @Test
    void badInputIsRefusedWithTheReasonAndChangesNothing() {
        String cfg = configFile.toString();
        TrafficRouter router = pipeline.router().orElseThrow();
        long revision = router.routeState("orders-read").revision();

        CliResult badWeight = runCli("weight", "-c", cfg, "orders-read", "lots");
        assertThat(badWeight.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(badWeight.stderr()).contains("not 'lots'");

        CliResult unknown = runCli("rollback", "-c", cfg, "order-read");
        assertThat(unknown.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(unknown.stderr()).contains("no route 'order-read' in the config; routes: orders-read");

        CliResult badEvery = runCli("cutover", "-c", cfg, "orders-read", "--to", "50%", "--step", "5%", "--every", "soon");
        assertThat(badEvery.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(badEvery.stderr()).contains("--every must be a duration such as 30s, 5m or 1h, not 'soon'");

        CliResult noRamp = runCli("ramp", "-c", cfg, "resume", "orders-read");
        assertThat(noRamp.exitCode()).isEqualTo(Main.EXIT_FAILED);
        assertThat(noRamp.stderr()).contains("route orders-read has no running or paused ramp");

        assertThat(router.routeState("orders-read").revision()).isEqualTo(revision);
    }
}
