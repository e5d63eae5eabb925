package dev.strangler.router.internal;

/**
 * Requests and errors of one side of one route over the last {@code seconds} seconds, in one bucket
 * per second; what the error-rate gate compares. Errors are 5xx answers and upstream failures.
 */
final class SideWindow {

    private final int seconds;
    private final long[] second;
    private final long[] requests;
    private final long[] errors;

    SideWindow(int seconds) {
        this.seconds = seconds;
        this.second = new long[seconds];
        this.requests = new long[seconds];
        this.errors = new long[seconds];
    }

    synchronized void record(long nowMillis, boolean error) {
        long s = nowMillis / 1000;
        int i = (int) (s % seconds);
        if (second[i] != s) {
            second[i] = s;
            requests[i] = 0;
            errors[i] = 0;
        }
        requests[i]++;
        if (error) {
            errors[i]++;
        }
    }

    synchronized Totals totals(long nowMillis) {
        long now = nowMillis / 1000;
        long r = 0;
        long e = 0;
        for (int i = 0; i < seconds; i++) {
            if (second[i] > now - seconds && second[i] <= now) {
                r += requests[i];
                e += errors[i];
            }
        }
        return new Totals(r, e);
    }

    record Totals(long requests, long errors) {
        double errorRate() {
            return requests == 0 ? 0 : (double) errors / requests;
        }
    }
}
