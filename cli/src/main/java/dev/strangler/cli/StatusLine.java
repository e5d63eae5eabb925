package dev.strangler.cli;

import dev.strangler.core.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.TreeMap;

/** One line of live status from the metrics: rows captured, rows applied, end-to-end lag per table. */
final class StatusLine {

    private final MeterRegistry metrics;
    private long lastCaptured;
    private long lastApplied;
    private long lastNanos = System.nanoTime();

    private final CopyProgress copy;

    StatusLine(MeterRegistry metrics) {
        this.metrics = metrics;
        this.copy = new CopyProgress(metrics, System::nanoTime);
    }

    String next() {
        long captured = (long) metrics.find(MetricNames.CAPTURE_EVENTS).counters().stream().mapToDouble(Counter::count).sum();
        long applied = (long) metrics.find(MetricNames.APPLY_ROWS).counters().stream().mapToDouble(Counter::count).sum();
        long now = System.nanoTime();
        double seconds = Math.max(0.001, (now - lastNanos) / 1e9);
        Map<String, Long> lag = new TreeMap<>();
        for (Gauge g : metrics.find(MetricNames.E2E_LAG).gauges()) {
            String table = g.getId().getTag(MetricNames.TAG_TARGET_TABLE);
            lag.put(table.startsWith("public.") ? table.substring(7) : table, (long) g.value());
        }
        StringBuilder line = new StringBuilder();
        line.append(LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")))
                .append("  captured ").append(captured).append(String.format(" (%.0f/s)", (captured - lastCaptured) / seconds))
                .append("  applied ").append(applied).append(String.format(" (%.0f/s)", (applied - lastApplied) / seconds))
                .append("  e2e lag ms:");
        if (lag.isEmpty()) {
            line.append(" (waiting for the first rows)");
        }
        lag.forEach((table, ms) -> line.append(' ').append(table).append('=').append(ms));
        copy.statusText().ifPresent(text -> line.append("  ").append(text));
        for (Gauge weight : metrics.find(MetricNames.ROUTER_WEIGHT).gauges()) {
            String route = weight.getId().getTag(MetricNames.TAG_ROUTE);
            line.append("  ").append(route).append(' ').append(new dev.strangler.core.Weight((int) weight.value())).append(" shadow");
            for (String result : new String[] {"match", "mismatch"}) {
                Counter c = metrics.find(MetricNames.ROUTER_SHADOW).tag(MetricNames.TAG_ROUTE, route).tag(MetricNames.TAG_RESULT, result).counter();
                line.append(' ').append(result).append('=').append(c == null ? 0 : (long) c.count());
            }
        }
        lastCaptured = captured;
        lastApplied = applied;
        lastNanos = now;
        return line.toString();
    }
}
