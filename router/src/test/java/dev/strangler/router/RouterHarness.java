package dev.strangler.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.RouterSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Real upstream servers, a real broker and routers built from YAML, with the verbs the router tests speak. */
final class RouterHarness implements AutoCloseable {

    static final String TOKEN = "test-admin-token";
    private static final ObjectMapper JSON = new ObjectMapper();

    final Vertx vertx = Vertx.vertx();
    final Upstream monolith = new Upstream(vertx, "monolith");
    final Upstream service = new Upstream(vertx, "service");
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final EmbeddedKafka kafka;
    private final String prefix;
    private final List<TrafficRouter> routers = new ArrayList<>();
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    /** More lines of the router: section (e.g. {@code upstreamTimeout: 500ms}), for the routers started after it is set. */
    String routerSettings = "";

    RouterHarness(EmbeddedKafka kafka, String prefix) {
        this.kafka = kafka;
        this.prefix = prefix;
    }

    /** The router section of a config whose routes are given in YAML ({{monolith}} and {{service}} filled in). */
    StranglerConfig config(String routesYaml) {
        String yaml = "kafka: {bootstrap: '" + kafka.bootstrapServers() + "', topicPrefix: " + prefix + "}\n"
                + "monolith: {url: 'jdbc:postgresql://127.0.0.1:1/none', user: none}\n"
                + "services: {orders: {url: 'jdbc:postgresql://127.0.0.1:1/none', user: none, tables: [public.orders]}}\n"
                + "router:\n  listen: {host: 127.0.0.1, port: 0}\n  admin: {host: 127.0.0.1, port: 0}\n  adminToken: " + TOKEN + "\n"
                + "  defaultUpstream: " + monolith.url() + "\n" + (routerSettings.contains("eventLoops:") ? "" : "  eventLoops: 2\n")
                + routerSettings.indent(2) + "  routes:\n"
                + routesYaml.replace("{{monolith}}", monolith.url()).replace("{{service}}", service.url()).indent(4);
        return new ConfigLoader(name -> null, Path.of(".")).parse(yaml, "test.yaml");
    }

    TrafficRouter start(String routesYaml) {
        return start(routesYaml, metrics, ReplicationHealth.UNKNOWN);
    }

    TrafficRouter start(String routesYaml, io.micrometer.core.instrument.MeterRegistry registry, ReplicationHealth health) {
        StranglerConfig config = config(routesYaml);
        RouterSettings settings = config.router().orElseThrow();
        TrafficRouter router = new TrafficRouter(settings, endpoint(), config.topics().routes(), registry, Clock.systemUTC(), health,
                Duration.ofMillis(200));
        router.start();
        routers.add(router);
        return router;
    }

    KafkaEndpoint endpoint() {
        return new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1);
    }

    String routesTopic() {
        return prefix + ".routes";
    }

    HttpResponse<String> get(TrafficRouter router, String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.proxyPort() + path)).timeout(Duration.ofSeconds(30));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.GET().build());
    }

    /** Which side answered: "monolith" or "service". */
    String sideFor(TrafficRouter router, String path, String... headers) {
        HttpResponse<String> r = get(router, path, headers);
        return r.headers().firstValue("X-Strangler-Side").orElseThrow();
    }

    HttpResponse<String> admin(TrafficRouter router, String method, String path, String body, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.adminPort() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b.build());
    }

    JsonNode adminJson(TrafficRouter router, String method, String path, String body) {
        HttpResponse<String> r = admin(router, method, path, body, TOKEN);
        if (r.statusCode() != 200) {
            throw new AssertionError("admin " + method + " " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError("request " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        routers.forEach(TrafficRouter::stop);
        monolith.close();
        service.close();
        try {
            vertx.close().await(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // test teardown
        }
    }
}
