package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strangler.core.Component;
import dev.strangler.core.Durations;
import dev.strangler.core.Json;
import dev.strangler.core.MetricNames;
import dev.strangler.core.Weight;
import dev.strangler.core.config.Secret;
import dev.strangler.router.RouteControl;
import dev.strangler.router.TrafficRouter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The built-in dashboard of a Strangler process: one page ({@code GET /}) that polls
 * {@code /api/status} (figures now) and {@code /api/history} (a sample every 5 s for the last hour,
 * kept in this process) and draws them with Chart.js, served from its WebJar. Route controls post to
 * {@code /api/routes/{route}/{action}} with the router's admin token and change the route through the
 * routes topic, as the CLI does.
 */
final class Dashboard implements AutoCloseable {

    static final int HISTORY_SAMPLES = 720;
    private static final long SAMPLE_SECONDS = 5;
    private static final String CHART_JS = "/META-INF/resources/webjars/chart.js/4.5.1/dist/chart.umd.min.js";

    /** Where the figures come from: this process's meters, or (strangler console) other processes' /api/status. */
    interface Source {
        /** The figures now (without the latest history sample, which the dashboard adds). */
        ObjectNode status();

        /** One history sample; called every 5 s. */
        ObjectNode sample();

        /** Changes routes, when a router or the routes topic is reachable. */
        Optional<RouteControl> control();
    }

    private final Source source;
    private final Secret adminToken;
    private final Clock clock;
    private final Deque<ObjectNode> history = new ArrayDeque<>();
    private final ScheduledExecutorService sampler;
    /** The dashboard of this process: its meters, its components, its router. */
    Dashboard(MeterRegistry metrics, Supplier<List<Component>> components, Supplier<Optional<TrafficRouter>> router, Secret adminToken,
              Clock clock) {
        this(new ProcessSource(metrics, components, router, clock), adminToken, clock);
    }

    Dashboard(Source source, Secret adminToken, Clock clock) {
        this.source = source;
        this.adminToken = adminToken;
        this.clock = clock;
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strangler-dashboard");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(this::sample, 0, SAMPLE_SECONDS, TimeUnit.SECONDS);
    }

    void register(HttpServer server) {
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            switch (path) {
                case "/", "/dashboard" -> resource(exchange, "/dashboard/index.html", "text/html; charset=utf-8");
                case "/dashboard.js" -> resource(exchange, "/dashboard/dashboard.js", "text/javascript; charset=utf-8");
                case "/dashboard.css" -> resource(exchange, "/dashboard/dashboard.css", "text/css; charset=utf-8");
                case "/vendor/chart.umd.min.js" -> resource(exchange, CHART_JS, "text/javascript; charset=utf-8");
                default -> send(exchange, 404, "application/json", "{\"error\":\"no page " + path.replace("\"", "") + "\"}");
            }
        });
        server.createContext("/api/status", exchange -> send(exchange, 200, "application/json", status().toString()));
        server.createContext("/api/history/latest", exchange -> {
            ObjectNode latest;
            synchronized (history) {
                latest = history.peekLast();
            }
            send(exchange, 200, "application/json", latest == null ? "{}" : latest.toString());
        });
        server.createContext("/api/history", exchange -> {
            ArrayNode list = Json.mapper().createArrayNode();
            synchronized (history) {
                history.forEach(list::add);
            }
            send(exchange, 200, "application/json", list.toString());
        });
        server.createContext("/api/routes/", this::routeAction);
    }

    /** The figures now, with the latest history sample as "rates". */
    ObjectNode status() {
        ObjectNode o = source.status();
        o.put("controls", o.path("routes").size() > 0 && source.control().isPresent() && !adminToken.isEmpty());
        synchronized (history) {
            if (!history.isEmpty()) {
                o.set("rates", history.peekLast());
            }
        }
        return o;
    }

    private void sample() {
        try {
            ObjectNode s = source.sample();
            synchronized (history) {
                if (history.size() >= HISTORY_SAMPLES) {
                    history.removeFirst();
                }
                history.addLast(s);
            }
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(Dashboard.class).warn("dashboard sample failed: {}", e.toString());
        }
    }

    private void routeAction(HttpExchange exchange) throws IOException {
        if (!"POST".equals(exchange.getRequestMethod())) {
            send(exchange, 405, "application/json", "{\"error\":\"route actions are POST requests\"}");
            return;
        }
        Optional<RouteControl> reachable = source.control();
        if (reachable.isEmpty()) {
            send(exchange, 404, "application/json", "{\"error\":\"no router runs here and the routes topic is not reachable\"}");
            return;
        }
        String expected = adminToken.reveal();
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        String given = header != null && header.startsWith("Bearer ") ? header.substring(7).trim() : "";
        if (expected.isEmpty()) {
            send(exchange, 403, "application/json", "{\"error\":\"controls are disabled: set router.adminToken\"}");
            return;
        }
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            send(exchange, 401, "application/json", "{\"error\":\"enter the router's admin token\"}");
            return;
        }
        String[] parts = exchange.getRequestURI().getPath().substring("/api/routes/".length()).split("/", 2);
        if (parts.length < 2) {
            send(exchange, 404, "application/json", "{\"error\":\"use /api/routes/{route}/{action}\"}");
            return;
        }
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            byte[] bytes = in.readAllBytes();
            body = bytes.length == 0 ? Json.mapper().createObjectNode() : Json.mapper().readTree(bytes);
        } catch (IOException e) {
            send(exchange, 400, "application/json", error("the body is not JSON"));
            return;
        }
        RouteControl control = reachable.get();
        String route = parts[0];
        try {
            switch (parts[1]) {
                case "weight" -> control.setWeight(route, Weight.parse(body.path("weight").asText()), "set on the dashboard");
                case "rollback" -> control.rollback(route, "rolled back on the dashboard");
                case "ramp" -> control.startRamp(route, Weight.parse(body.path("to").asText()), Weight.parse(body.path("step").asText("100%")),
                        Durations.parse(body.path("every").asText("5m")).orElseThrow(() ->
                                new IllegalArgumentException("every must be a duration such as 30s or 5m")));
                case "ramp/pause" -> control.pauseRamp(route, "paused on the dashboard");
                case "ramp/resume" -> control.resumeRamp(route);
                case "ramp/abort" -> control.abortRamp(route);
                default -> {
                    send(exchange, 404, "application/json", error("no action '" + parts[1] + "'"));
                    return;
                }
            }
        } catch (IllegalArgumentException e) {
            send(exchange, 400, "application/json", error(e.getMessage()));
            return;
        } catch (IllegalStateException e) {
            send(exchange, 409, "application/json", error(e.getMessage()));
            return;
        }
        send(exchange, 200, "application/json", "{\"ok\":true}");
    }

    private static String error(String message) {
        return Json.mapper().createObjectNode().put("error", message).toString();
    }

    private static void resource(HttpExchange exchange, String name, String contentType) throws IOException {
        try (InputStream in = Dashboard.class.getResourceAsStream(name)) {
            if (in == null) {
                send(exchange, 500, "text/plain", "missing resource " + name);
                return;
            }
            byte[] bytes = in.readAllBytes();
            exchange.getResponseHeaders().set("Content-Type", contentType);
            exchange.getResponseHeaders().set("Cache-Control", "no-cache");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
