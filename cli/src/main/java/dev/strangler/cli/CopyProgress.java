package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Json;
import dev.strangler.core.MetricNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The copy of existing rows (the initial copy, blocking or incremental, and {@code strangler snapshot}) as
 * the capture's snapshot gauges show it: rows read per table against the table's size estimate, the read
 * rate over the last 30 s, and an ETA. Shown by {@code /health}, the dashboard and the demo's status line.
 */
final class CopyProgress {

    private static final long WINDOW_NANOS = 30_000_000_000L;
    private static final long SAMPLE_NANOS = 1_000_000_000L;

    private final MeterRegistry metrics;
    private final LongSupplier nanoClock;
    private final Deque<long[]> samples = new ArrayDeque<>();

    CopyProgress(MeterRegistry metrics, LongSupplier nanoClock) {
        this.metrics = metrics;
        this.nanoClock = nanoClock;
    }

    /** What the copy is doing now. */
    enum State {
        /** no capture runs in this process */
        NO_CAPTURE,
        /** the capture streams changes only: no copy ran since it started */
        NOT_RUNNING,
        RUNNING,
        DONE
    }

    /** @param etaSeconds empty when the rate or the estimate is unknown */
    record Snapshot(State state, double rowsRead, double rowsEstimated, double tablesRemaining, double rowsPerSecond,
                    Optional<Double> etaSeconds, ArrayNode tables) {
    }

    synchronized Snapshot read() {
        ArrayNode tables = Json.mapper().createArrayNode();
        Gauge running = metrics.find(MetricNames.SNAPSHOT_RUNNING).gauge();
        if (running == null) {
            return new Snapshot(State.NO_CAPTURE, 0, 0, 0, 0, Optional.empty(), tables);
        }
        double read = 0;
        double estimated = 0;
        for (Gauge g : metrics.find(MetricNames.SNAPSHOT_ROWS_SCANNED).gauges()) {
            String table = g.getId().getTag(MetricNames.TAG_TABLE);
            Gauge estimate = metrics.find(MetricNames.SNAPSHOT_ROWS_ESTIMATED).tag(MetricNames.TAG_TABLE, table).gauge();
            double e = estimate == null ? 0 : estimate.value();
            tables.addObject().put("table", table).put("scanned", g.value()).put("estimated", e);
            read += g.value();
            estimated += e;
        }
        boolean isRunning = running.value() > 0;
        State state = isRunning ? State.RUNNING : read > 0 ? State.DONE : State.NOT_RUNNING;
        double rate = rate(read);
        Gauge remaining = metrics.find(MetricNames.SNAPSHOT_TABLES_REMAINING).gauge();
        Optional<Double> eta = isRunning && rate > 0 && estimated > read ? Optional.of((estimated - read) / rate) : Optional.empty();
        return new Snapshot(state, read, estimated, remaining == null ? 0 : remaining.value(), rate, eta, tables);
    }

    /** Rows read per second over the samples of the last 30 s (one sample a second at most). */
    private double rate(double read) {
        long now = nanoClock.getAsLong();
        if (samples.isEmpty() || now - samples.peekLast()[0] >= SAMPLE_NANOS) {
            samples.addLast(new long[] {now, (long) read});
        }
        while (samples.size() > 2 && now - samples.peekFirst()[0] > WINDOW_NANOS) {
            samples.removeFirst();
        }
        long[] first = samples.peekFirst();
        long[] last = samples.peekLast();
        if (last[0] - first[0] < SAMPLE_NANOS || last[1] < first[1]) {
            return 0;
        }
        return (last[1] - first[1]) / ((last[0] - first[0]) / 1e9);
    }

    /** As JSON, for {@code /health} and the dashboard. */
    ObjectNode toJson() {
        Snapshot s = read();
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("state", switch (s.state()) {
            case NO_CAPTURE -> "no capture in this process";
            case NOT_RUNNING -> "not running (streaming only)";
            case RUNNING -> "running";
            case DONE -> "done";
        });
        if (s.state() == State.NO_CAPTURE) {
            return o;
        }
        o.put("tablesRemaining", s.tablesRemaining());
        o.put("rowsScanned", s.rowsRead()).put("rowsEstimated", s.rowsEstimated()).put("rowsPerSecond", Math.round(s.rowsPerSecond()));
        s.etaSeconds().ifPresent(eta -> o.put("etaSeconds", Math.round(eta)));
        o.set("tables", s.tables());
        return o;
    }

    /** A short text for a status line while a copy runs, such as {@code copy 38% (114688/300000 rows, 23000 rows/s, ETA 8 s)}. */
    Optional<String> statusText() {
        Snapshot s = read();
        if (s.state() != State.RUNNING) {
            return Optional.empty();
        }
        String percent = s.rowsEstimated() > 0 ? String.format("%.0f%% ", Math.min(100, 100 * s.rowsRead() / s.rowsEstimated())) : "";
        return Optional.of(String.format("copy %s(%.0f/%.0f rows, %.0f rows/s%s)", percent, s.rowsRead(), s.rowsEstimated(), s.rowsPerSecond(),
                s.etaSeconds().map(eta -> String.format(", ETA %.0f s", eta)).orElse("")));
    }
}
