package dev.strangler.benchmarks;

import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.TableId;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts applied rows and, while recording, keeps each row's end-to-end latency (source commit →
 * target commit, microseconds) for percentiles.
 */
final class LatencyRecorder implements ApplyListener {

    private final AtomicLong applied = new AtomicLong();
    private long[] samples = new long[1 << 20];
    /** when each sample's row was committed in the target (epoch µs), for {@link #timeline} */
    private long[] appliedAt = new long[1 << 20];
    private int size;
    private volatile boolean recording;

    @Override
    public synchronized void committed(String service, Map<TableId, long[]> sourceCommitMicros, long committedMicros) {
        for (long[] micros : sourceCommitMicros.values()) {
            applied.addAndGet(micros.length);
            if (recording) {
                for (long m : micros) {
                    if (size == samples.length) {
                        samples = Arrays.copyOf(samples, size * 2);
                        appliedAt = Arrays.copyOf(appliedAt, size * 2);
                    }
                    appliedAt[size] = committedMicros;
                    samples[size++] = committedMicros - m;
                }
            }
        }
    }

    long applied() {
        return applied.get();
    }

    synchronized void startRecording() {
        size = 0;
        recording = true;
    }

    /** The largest latency (ms) per second of target commit time in the last recording, oldest first. */
    synchronized long[] timeline() {
        if (size == 0) {
            return new long[0];
        }
        long first = Arrays.stream(appliedAt, 0, size).min().orElse(0);
        long last = Arrays.stream(appliedAt, 0, size).max().orElse(0);
        long[] max = new long[(int) ((last - first) / 1_000_000) + 1];
        for (int i = 0; i < size; i++) {
            int second = (int) ((appliedAt[i] - first) / 1_000_000);
            max[second] = Math.max(max[second], samples[i] / 1000);
        }
        return max;
    }

    /** Stops recording and returns p50, p95, p99 and max in milliseconds, and the sample count. */
    synchronized double[] stopRecording() {
        recording = false;
        long[] sorted = Arrays.copyOf(samples, size);
        Arrays.sort(sorted);
        return new double[]{percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99),
                sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1] / 1000.0, sorted.length};
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1000.0;
    }
}
