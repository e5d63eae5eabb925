package dev.strangler.router.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class SideWindowTest {

    @Test
    void everyLatencyFallsInABinWhoseBoundsHoldItWithin25Percent() {
        long top = SideWindow.binUpperMicros(SideWindow.BINS - 2);
        for (long micros = 1; micros <= top; micros = micros * 3 / 2 + 1) {
            int bin = SideWindow.bin(micros);
            assertThat(SideWindow.binUpperMicros(bin)).as("%d µs", micros).isGreaterThanOrEqualTo(micros);
            if (bin > 0) {
                assertThat(SideWindow.binUpperMicros(bin - 1)).as("%d µs", micros).isLessThan(micros);
                assertThat((double) SideWindow.binUpperMicros(bin)).isLessThanOrEqualTo(micros * 1.25 + 1);
            }
        }
    }

    @Test
    void latenciesBeyondTheLastBinAreCountedInIt() {
        assertThat(SideWindow.bin(Long.MAX_VALUE / 1000)).isEqualTo(SideWindow.BINS - 1);
        assertThat(SideWindow.binUpperMicros(SideWindow.BINS - 2)).as("the bins reach past an hour").isGreaterThan(3_600_000_000L);
    }

    @Test
    void countsAndPercentilesCoverOnlyTheWindow() {
        SideWindow w = new SideWindow(10);
        long t0 = 1_000_000;
        for (int i = 0; i < 98; i++) {
            w.record(t0, false, Duration.ofMillis(2).toNanos());
        }
        w.record(t0, true, Duration.ofMillis(80).toNanos());
        w.record(t0, true, Duration.ofMillis(90).toNanos());
        SideWindow.Totals now = w.totals(t0 + 5_000);
        assertThat(now.requests()).isEqualTo(100);
        assertThat(now.errorRate()).isEqualTo(0.02);
        assertThat(now.percentile(0.98).orElseThrow().toMillis()).isBetween(2L, 3L);
        assertThat(now.percentile(0.99).orElseThrow().toMillis()).isBetween(80L, 100L);
        SideWindow.Totals later = w.totals(t0 + 10_000);
        assertThat(later.requests()).as("10 s later the second has left the window").isZero();
        assertThat(later.percentile(0.99)).isEmpty();
    }
}
