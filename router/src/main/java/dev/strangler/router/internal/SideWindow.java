package dev.strangler.router.internal;

import java.time.Duration;
import java.util.Optional;

/**
 * Requests, errors and latencies of one side of one route over the last {@code seconds} seconds, in
 * one bucket per second; what the error-rate and latency gates compare. Errors are 5xx answers and
 * upstream failures. Latencies go into 128 log-linear bins (four per power of two of microseconds),
 * so a percentile read from them is within 25% of the true value: plenty for a gate that compares
 * two sides by a ratio such as 1.5, and one array increment per request.
 */
final class SideWindow {

    static final int BINS = 128;

    private final int seconds;
    private final long[] second;
    private final long[] requests;
    private final long[] errors;
    private final long[][] latency;

    SideWindow(int seconds) {
        this.seconds = seconds;
        this.second = new long[seconds];
        this.requests = new long[seconds];
        this.errors = new long[seconds];
        this.latency = new long[seconds][BINS];
    }

    synchronized void record(long nowMillis, boolean error, long nanos) {
        long s = nowMillis / 1000;
        int i = (int) (s % seconds);
        if (second[i] != s) {
            second[i] = s;
            requests[i] = 0;
            errors[i] = 0;
            java.util.Arrays.fill(latency[i], 0);
        }
        requests[i]++;
        if (error) {
            errors[i]++;
        }
        latency[i][bin(nanos / 1000)]++;
    }

    synchronized Totals totals(long nowMillis) {
        long now = nowMillis / 1000;
        long r = 0;
        long e = 0;
        long[] bins = new long[BINS];
        for (int i = 0; i < seconds; i++) {
            if (second[i] > now - seconds && second[i] <= now) {
                r += requests[i];
                e += errors[i];
                for (int b = 0; b < BINS; b++) {
                    bins[b] += latency[i][b];
                }
            }
        }
        return new Totals(r, e, bins);
    }

    /** The bin of a latency: 1..3 µs exactly, then four bins per power of two. */
    static int bin(long micros) {
        long v = Math.max(1, micros);
        int exp = 63 - Long.numberOfLeadingZeros(v);
        if (exp < 2) {
            return (int) v;
        }
        int sub = (int) ((v >> (exp - 2)) & 3);
        return Math.min(BINS - 1, exp * 4 + sub);
    }

    /** The largest latency in microseconds a bin holds. */
    static long binUpperMicros(int bin) {
        if (bin < 4) {
            return bin;
        }
        int exp = bin / 4;
        int sub = bin % 4;
        return ((4L + sub + 1) << (exp - 2)) - 1;
    }

    record Totals(long requests, long errors, long[] latencyBins) {
        double errorRate() {
            return requests == 0 ? 0 : (double) errors / requests;
        }

        /** The latency under which {@code quantile} of the window's requests finished (upper bound of its bin). */
        Optional<Duration> percentile(double quantile) {
            long total = 0;
            for (long c : latencyBins) {
                total += c;
            }
            if (total == 0) {
                return Optional.empty();
            }
            long rank = (long) Math.ceil(quantile * total);
            long seen = 0;
            for (int b = 0; b < BINS; b++) {
                seen += latencyBins[b];
                if (seen >= rank) {
                    return Optional.of(Duration.ofNanos(binUpperMicros(b) * 1000));
                }
            }
            return Optional.of(Duration.ofNanos(binUpperMicros(BINS - 1) * 1000));
        }
    }
}
