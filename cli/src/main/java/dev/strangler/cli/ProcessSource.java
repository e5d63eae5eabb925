package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Component;
import dev.strangler.core.Json;
import dev.strangler.core.MetricNames;
import dev.strangler.router.RouteControl;
import dev.strangler.router.TrafficRouter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** The dashboard's figures from this process: its meters, its components and its router. */
final class ProcessSource implements Dashboard.Source {

    private final MeterRegistry metrics;
    private final Supplier<List<Component>> components;
    private final Supplier<Optional<TrafficRouter>> router;
    private final Clock clock;
    private final CopyProgress copyProgress;
    private Map<String, Double> lastCounts = new HashMap<>();
    private Map<String, double[]> lastE2eBuckets = new HashMap<>();
    private long lastSampleMillis;

    ProcessSource(MeterRegistry metrics, Supplier<List<Component>> components, Supplier<Optional<TrafficRouter>> router, Clock clock) {
        this.metrics = metrics;
        this.components = components;
        this.router = router;
        this.clock = clock;
        this.copyProgress = new CopyProgress(metrics, () -> clock.millis() * 1_000_000);
        this.lastSampleMillis = clock.millis();
    }

    @Override
    public ObjectNode status() {
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("at", clock.instant().toString());
        ArrayNode parts = o.putArray("components");
        for (Component c : components.get()) {
            parts.addObject().put("name", c.name()).put("state", c.state().name()).put("failure", c.failure().orElse(""));
        }
        Map<String, ObjectNode> tables = new TreeMap<>();
        for (Gauge g : metrics.find(MetricNames.CAPTURE_LAG).tag(MetricNames.TAG_ORIGIN, dev.strangler.core.TopicNames.MONOLITH_ORIGIN).gauges()) {
            table(tables, g.getId().getTag(MetricNames.TAG_TABLE)).put("captureLagMs", g.value());
        }
        for (Counter c : metrics.find(MetricNames.CAPTURE_EVENTS).tag(MetricNames.TAG_ORIGIN, dev.strangler.core.TopicNames.MONOLITH_ORIGIN).counters()) {
            table(tables, c.getId().getTag(MetricNames.TAG_TABLE)).put("captured", (long) c.count());
        }
        Map<String, ObjectNode> targets = new TreeMap<>();
        for (Gauge g : metrics.find(MetricNames.E2E_LAG).gauges()) {
            target(targets, g.getId()).put("e2eLagMs", g.value());
        }
        for (Counter c : metrics.find(MetricNames.APPLY_ROWS).counters()) {
            target(targets, c.getId()).put("applied", (long) c.count());
        }
        for (ObjectNode t : targets.values()) {
            Gauge backlog = metrics.find(MetricNames.WRITER_CONSUMER_LAG).tag(MetricNames.TAG_SERVICE, t.path("service").asText()).gauge();
            if (backlog != null) {
                t.put("writerBacklog", backlog.value());
            }
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
        o.put("conflicts", sum(MetricNames.CONFLICTS));
        ArrayNode conflictTables = o.putArray("conflictsByTable");
        Map<String, Double> byTable = new TreeMap<>();
        for (Counter c : metrics.find(MetricNames.CONFLICTS).counters()) {
            byTable.merge(c.getId().getTag(MetricNames.TAG_TABLE) + " (" + c.getId().getTag(MetricNames.TAG_STRATEGY) + ")", c.count(), Double::sum);
        }
        byTable.forEach((table, n) -> conflictTables.addObject().put("table", table).put("conflicts", n));
        o.set("snapshot", copyProgress.toJson());
        o.set("routes", router.get().map(r -> (JsonNode) r.describeRoutes()).orElse(Json.mapper().createArrayNode()));
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
    @Override
    public ObjectNode sample() {
        {
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
            for (Gauge g : metrics.find(MetricNames.CAPTURE_LAG).tag(MetricNames.TAG_ORIGIN, dev.strangler.core.TopicNames.MONOLITH_ORIGIN).gauges()) {
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
            s.put("snapshotRowsPerSecond", copyProgress.read().rowsPerSecond());
            ObjectNode weights = s.putObject("routeWeights");
            for (Gauge g : metrics.find(MetricNames.ROUTER_WEIGHT).gauges()) {
                weights.put(g.getId().getTag(MetricNames.TAG_ROUTE), g.value() / 100);
            }
            lastCounts = counts;
            lastE2eBuckets = buckets;
            lastSampleMillis = now;
            return s;
        }
    }

    @Override
    public Optional<RouteControl> control() {
        return router.get().map(TrafficRouter::control);
    }

}
