package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Json;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.strangler.benchmarks.Stats.median;
import static dev.strangler.benchmarks.Stats.round1;

/** The two measurements the pipeline benchmarks share: sustained throughput over rounds, and latency at a fixed rate. */
final class Measure {

    private Measure() {
    }

    /** Pushes {@code changes} changes through and returns changes per second, source commit to target commit. */
    interface Burst {
        double run(int changes) throws Exception;
    }

    /** One unit of work at a fixed rate (a source transaction). */
    interface Tick {
        void run() throws Exception;
    }

    /** Warm-up, then {@code rounds} bursts: puts the median and every round into {@code node}. */
    static void sustained(ObjectNode node, PrintStream progress, int warmup, int rounds, int roundChanges, Burst burst) throws Exception {
        progress.printf("warming up with %,d changes ...%n", warmup);
        burst.run(warmup);
        List<Double> throughputs = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            double perSecond = burst.run(roundChanges);
            progress.printf("round %d: %,.0f changes/s%n", round, perSecond);
            throughputs.add(perSecond);
        }
        node.put("sustainedChangesPerSecond", Math.round(median(throughputs)));
        ArrayNode all = node.putArray("sustainedRounds");
        throughputs.forEach(t -> all.add(Math.round(t)));
    }

    /**
     * A tick every {@code intervalNanos}: a 3 s lead-in, then 3 windows of {@code seconds} each, one second
     * of drain after each; returns the medians over the windows of p50, p95 and p99 (ms).
     */
    static ObjectNode latency(LatencyRecorder recorder, PrintStream progress, String label, long intervalNanos, int seconds, Tick tick)
            throws Exception {
        List<double[]> windows = new ArrayList<>();
        for (int window = -1; window < 3; window++) {
            if (window >= 0) {
                recorder.startRecording();
            }
            long ticks = (window < 0 ? 3L : seconds) * TimeUnit.SECONDS.toNanos(1) / intervalNanos;
            long start = System.nanoTime();
            for (long t = 0; t < ticks; t++) {
                long wait = start + t * intervalNanos - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                tick.run();
            }
            Thread.sleep(1000);
            if (window >= 0) {
                double[] w = recorder.stopRecording();
                windows.add(w);
                progress.printf("%s window %d: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%,.0f rows)%n",
                        label, window + 1, w[0], w[1], w[2], w[3], w[4]);
            }
        }
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("p50", round1(median(windows.stream().map(w -> w[0]).toList())));
        node.put("p95", round1(median(windows.stream().map(w -> w[1]).toList())));
        node.put("p99", round1(median(windows.stream().map(w -> w[2]).toList())));
        node.put("windows", windows.size());
        node.put("rowsPerWindow", Math.round(median(windows.stream().map(w -> w[4]).toList())));
        return node;
    }
}
