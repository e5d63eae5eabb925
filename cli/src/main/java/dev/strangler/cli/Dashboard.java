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

    private final MeterRegistry metrics;
    private final Supplier<List<Component>> components;
    private final Supplier<Optional<TrafficRouter>> router;
    private final Secret adminToken;
    private final Clock clock;
    private final Deque<ObjectNode> history = new ArrayDeque<>();
    private final ScheduledExecutorService sampler;
    private Map<String, Double> lastCounts = new HashMap<>();
    private Map<String, double[]> lastE2eBuckets = new HashMap<>();
    private long lastSampleMillis;

    Dashboard(MeterRegistry metrics, Supplier<List<Component>> components, Supplier<Optional<TrafficRouter>> router, Secret adminToken,
              Clock clock) {
        this.metrics = metrics;
        this.components = components;
        this.router = router;
        this.adminToken = adminToken;
        this.clock = clock;
        this.lastSampleMillis = clock.millis();
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
        server.createContext("/api/history", exchange -> {
            ArrayNode list = Json.mapper().createArrayNode();
            synchronized (history) {
                history.forEach(list::add);
            }
            send(exchange, 200, "application/json", list.toString());
        });
        server.createContext("/api/routes/", this::routeAction);
    }

    /** The figures now: components, tables, validation, dead letters, parked rows, routes. */
    ObjectNode status() {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("at", clock.instant().toString());
        ArrayNode parts = o.putArray("components");
        for (Component c : components.get()) {
            parts.addObject().put("name", c.name()).put("state", c.state().name()).put("failure", c.failure().orElse(""));
        }
        Map<String, ObjectNode> tables = new TreeMap<>();
        for (Gauge g : metrics.find(MetricNames.CAPTURE_LAG).gauges()) {
            table(tables, g.getId().getTag(MetricNames.TAG_TABLE)).put("captureLagMs", g.value());
        }
        for (Counter c : metrics.find(MetricNames.CAPTURE_EVENTS).counters()) {
            table(tables, c.getId().getTag(MetricNames.TAG_TABLE)).put("captured", (long) c.count());
        }
        Map<String, ObjectNode> targets = new TreeMap<>();
        for (Gauge g : metrics.find(MetricNames.E2E_LAG).gauges()) {
            target(targets, g.getId()).put("e2eLagMs", g.value());
        }
        for (Counter c : metrics.find(MetricNames.APPLY_ROWS).counters()) {
            target(targets, c.getId()).put("applied", (long) c.count());
        }
        for (Gauge g : metrics.find(MetricNames.VALIDATION_CONSISTENCY).gauges()) {
            target(targets, g.getId()).put("consistency", g.value());
        }
        for (Gauge g : metrics.find(MetricNames.VALIDATION_DRIFTED_ROWS).gauges()) {
            target(targets, g.getId()).put("driftedRows", g.value());
        }
        for (Gauge g : metrics.find(MetricNames.VALIDATION_LAST_PASS_AGE).gauges()) {
            target(targets, g.getId()).put("lastPassAgeSeconds", g.value());
        }
        tables.values().forEach(o.putArray("tables")::add);
        targets.values().forEach(o.putArray("targets")::add);
        o.put("captured", sum(MetricNames.CAPTURE_EVENTS));
        o.put("applied", sum(MetricNames.APPLY_ROWS));
        o.put("deadLetters", sum(MetricNames.DEAD_LETTERS));
        o.put("parkedNow", metrics.find(MetricNames.WRITER_PARKED_NOW).gauges().stream().mapToDouble(Gauge::value).sum());
        o.put("conflicts", "not built yet (two-way sync, issue 4)");
        o.put("snapshot", "initial copy progress is not reported yet (issue 3)");
        Optional<TrafficRouter> running = router.get();
        o.set("routes", running.map(r -> (JsonNode) r.describeRoutes()).orElse(Json.mapper().createArrayNode()));
        o.put("controls", running.isPresent() && !adminToken.isEmpty());
        synchronized (history) {
            if (!history.isEmpty()) {
                o.set("rates", history.peekLast());
            }
        }
        return o;
    }

    private static ObjectNode table(Map<String, ObjectNode> tables, String name) {
        return tables.computeIfAbsent(name, n -> Json.mapper().createObjectNode().put("table", n));
    }

    private static ObjectNode target(Map<String, ObjectNode> targets, io.micrometer.core.instrument.Meter.Id id) {
        String service = id.getTag(MetricNames.TAG_SERVICE);
        String table = id.getTag(MetricNames.TAG_TARGET_TABLE);
        return targets.computeIfAbsent(service + "/" + table, n -> Json.mapper().createObjectNode().put("service", service).put("table", table));
    }

    private double sum(String counter) {
        return metrics.find(counter).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** One history sample: rates since the last sample, lags now, e2e p99 over the last interval, route weights. */
    void sample() {
        try {
            long now = clock.millis();
            double seconds = Math.max(0.001, (now - lastSampleMillis) / 1000.0);
            Map<String, Double> counts = new HashMap<>();
            counts.put("captured", sum(MetricNames.CAPTURE_EVENTS));
            counts.put("applied", sum(MetricNames.APPLY_ROWS));
            counts.put("deadLetters", sum(MetricNames.DEAD_LETTERS));
            ObjectNode s = Json.mapper().createObjectNode();
            s.put("at", now);
            counts.forEach((k, v) -> s.put(k + "PerSecond", Math.max(0, (v - lastCounts.getOrDefault(k, v)) / seconds)));
            ObjectNode lag = s.putObject("e2eLagMs");
            for (Gauge g : metrics.find(MetricNames.E2E_LAG).gauges()) {
                lag.put(g.getId().getTag(MetricNames.TAG_TARGET_TABLE), g.value());
            }
            ObjectNode capture = s.putObject("captureLagMs");
            for (Gauge g : metrics.find(MetricNames.CAPTURE_LAG).gauges()) {
                capture.put(g.getId().getTag(MetricNames.TAG_TABLE), g.value());
            }
            ObjectNode p99 = s.putObject("e2eP99Ms");
            Map<String, double[]> buckets = new HashMap<>();
            for (Timer t : metrics.find(MetricNames.E2E_LATENCY).timers()) {
                String table = t.getId().getTag(MetricNames.TAG_TARGET_TABLE);
                CountAtBucket[] counts99 = t.takeSnapshot().histogramCounts();
                double[] cumulative = new double[counts99.length];
                for (int i = 0; i < counts99.length; i++) {
                    cumulative[i] = counts99[i].count();
                }
                buckets.put(table, cumulative);
                double[] before = lastE2eBuckets.get(table);
                if (before != null && before.length == cumulative.length && cumulative.length > 0) {
                    double total = cumulative[cumulative.length - 1] - before[before.length - 1];
                    if (total > 0) {
                        for (int i = 0; i < cumulative.length; i++) {
                            if (cumulative[i] - before[i] >= 0.99 * total) {
                                p99.put(table, counts99[i].bucket(TimeUnit.MILLISECONDS));
                                break;
                            }
                        }
                    }
                }
            }
            ObjectNode weights = s.putObject("routeWeights");
            for (Gauge g : metrics.find(MetricNames.ROUTER_WEIGHT).gauges()) {
                weights.put(g.getId().getTag(MetricNames.TAG_ROUTE), g.value() / 100);
            }
            lastCounts = counts;
            lastE2eBuckets = buckets;
            lastSampleMillis = now;
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
        Optional<TrafficRouter> running = router.get();
        if (running.isEmpty()) {
            send(exchange, 404, "application/json", "{\"error\":\"this process runs no router\"}");
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
        RouteControl control = running.get().control();
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
