package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Json;
import dev.strangler.router.RouteControl;
import dev.strangler.router.RouteState;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The console's figures: the {@code /api/status} of every Strangler process it is pointed at, merged
 * (components of all, tables and service tables by name, totals summed, routes from the process that
 * runs the router, or else from the routes topic), and route changes through the routes topic.
 */
final class ConsoleSource implements Dashboard.Source {

    private final List<URI> processes;
    private final Optional<RouteControl> control;
    private final Clock clock;
    private final ProcessStatusClient http = new ProcessStatusClient(Duration.ofSeconds(5));
    private final Map<String, Double> lastTotals = new TreeMap<>();
    private long lastSampleMillis;

    ConsoleSource(List<URI> processes, Optional<RouteControl> control, Clock clock) {
        this.processes = List.copyOf(processes);
        this.control = control;
        this.clock = clock;
        this.lastSampleMillis = clock.millis();
    }

    @Override
    public ObjectNode status() {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("at", clock.instant().toString());
        ArrayNode components = o.putArray("components");
        Map<String, ObjectNode> tables = new TreeMap<>();
        Map<String, ObjectNode> targets = new TreeMap<>();
        ArrayNode routes = Json.mapper().createArrayNode();
        double captured = 0;
        double applied = 0;
        double deadLetters = 0;
        double conflicts = 0;
        double parked = 0;
        for (URI process : processes) {
            Optional<JsonNode> answer = http.tryGet(process, "/api/status");
            String where = process.getHost() + ":" + process.getPort();
            if (answer.isEmpty()) {
                components.addObject().put("name", where).put("state", "UNREACHABLE").put("failure", "no answer from " + process + "/api/status");
                continue;
            }
            JsonNode s = answer.get();
            for (JsonNode c : s.path("components")) {
                components.addObject().put("name", where + " " + c.path("name").asText()).put("state", c.path("state").asText())
                        .put("failure", c.path("failure").asText());
            }
            merge(tables, s.path("tables"), t -> t.path("table").asText());
            merge(targets, s.path("targets"), t -> t.path("service").asText() + "/" + t.path("table").asText());
            captured += s.path("captured").asDouble();
            applied += s.path("applied").asDouble();
            deadLetters += s.path("deadLetters").asDouble();
            parked += s.path("parkedNow").asDouble();
            if (routes.isEmpty()) {
                routes.addAll((ArrayNode) s.path("routes"));
            }
            conflicts += s.path("conflicts").asDouble();
            if (s.path("snapshot").has("tables") || !o.has("snapshot")) {
                o.set("snapshot", s.path("snapshot"));
            }
        }
        if (routes.isEmpty() && control.isPresent()) {
            try {
                control.get().read().forEach((name, state) -> routes.add(describe(name, state)));
            } catch (RuntimeException e) {
                components.addObject().put("name", "routes topic").put("state", "UNREACHABLE").put("failure", String.valueOf(e.getMessage()));
            }
        }
        tables.values().forEach(o.putArray("tables")::add);
        targets.values().forEach(o.putArray("targets")::add);
        o.put("captured", captured).put("applied", applied).put("deadLetters", deadLetters).put("parkedNow", parked).put("conflicts", conflicts);
        o.set("routes", routes);
        return o;
    }

    private static void merge(Map<String, ObjectNode> into, JsonNode items, java.util.function.Function<JsonNode, String> key) {
        for (JsonNode item : items) {
            ObjectNode existing = into.computeIfAbsent(key.apply(item), k -> Json.mapper().createObjectNode());
            Iterator<Map.Entry<String, JsonNode>> fields = item.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                existing.set(f.getKey(), f.getValue());
            }
        }
    }

    /** A route as the topic holds it (no traffic figures: no router answered). */
    private static ObjectNode describe(String name, RouteState s) {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("name", name).put("weight", s.weight().toString()).put("enabled", s.enabled()).put("revision", s.revision())
                .put("updatedAt", s.updatedAt().toString()).put("updatedBy", s.updatedBy()).put("reason", s.reason());
        s.ramp().ifPresent(r -> o.putObject("ramp").put("state", r.state().name()).put("target", r.target().toString())
                .put("step", r.step().toString()).put("every", r.every().toString()).put("reason", r.reason()));
        return o;
    }

    @Override
    public ObjectNode sample() {
        ObjectNode status = status();
        long now = clock.millis();
        double seconds = Math.max(0.001, (now - lastSampleMillis) / 1000.0);
        ObjectNode s = Json.mapper().createObjectNode();
        s.put("at", now);
        for (String total : List.of("captured", "applied", "deadLetters")) {
            double value = status.path(total).asDouble();
            s.put(total + "PerSecond", Math.max(0, (value - lastTotals.getOrDefault(total, value)) / seconds));
            lastTotals.put(total, value);
        }
        ObjectNode lag = s.putObject("e2eLagMs");
        status.path("targets").forEach(t -> {
            if (t.has("e2eLagMs")) {
                lag.put(t.path("table").asText(), t.path("e2eLagMs").asDouble());
            }
        });
        ObjectNode capture = s.putObject("captureLagMs");
        status.path("tables").forEach(t -> {
            if (t.has("captureLagMs")) {
                capture.put(t.path("table").asText(), t.path("captureLagMs").asDouble());
            }
        });
        ObjectNode p99 = s.putObject("e2eP99Ms");
        for (URI process : processes) {
            http.tryGet(process, "/api/history/latest").ifPresent(latest -> latest.path("e2eP99Ms").fields()
                    .forEachRemaining(e -> p99.set(e.getKey(), e.getValue())));
        }
        ObjectNode weights = s.putObject("routeWeights");
        status.path("routes").forEach(r -> weights.put(r.path("name").asText(), r.path("weightBasisPoints").asDouble(
                dev.strangler.core.Weight.parse(r.path("weight").asText("0%")).basisPoints()) / 100));
        lastSampleMillis = now;
        return s;
    }

    @Override
    public Optional<RouteControl> control() {
        return control;
    }
}
