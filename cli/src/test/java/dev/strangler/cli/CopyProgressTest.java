package dev.strangler.cli;

import dev.strangler.core.MetricNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class CopyProgressTest {

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private final AtomicLong nanos = new AtomicLong();
    private final AtomicLong running = new AtomicLong();
    private final AtomicLong read = new AtomicLong();
    private final CopyProgress progress = new CopyProgress(metrics, nanos::get);

    private void register() {
        Gauge.builder(MetricNames.SNAPSHOT_RUNNING, running::get).register(metrics);
        Gauge.builder(MetricNames.SNAPSHOT_ROWS_SCANNED, read::get).tag(MetricNames.TAG_TABLE, "public.big").register(metrics);
        Gauge.builder(MetricNames.SNAPSHOT_ROWS_ESTIMATED, () -> 300_000).tag(MetricNames.TAG_TABLE, "public.big").register(metrics);
    }

    @Test
    void withoutACaptureThereIsNoCopy() {
        assertThat(progress.read().state()).isEqualTo(CopyProgress.State.NO_CAPTURE);
        assertThat(progress.statusText()).isEmpty();
    }

    @Test
    void aRunningCopyHasARateOverTheLastSamplesAndAnEta() {
        register();
        running.set(1);
        read.set(10_000);
        assertThat(progress.read().etaSeconds()).as("one sample: no rate yet").isEmpty();
        nanos.addAndGet(2_000_000_000L);
        read.set(50_000);
        CopyProgress.Snapshot s = progress.read();
        assertThat(s.state()).isEqualTo(CopyProgress.State.RUNNING);
        assertThat(s.rowsPerSecond()).isEqualTo(20_000.0);
        assertThat(s.etaSeconds()).contains(12.5);
        assertThat(progress.statusText()).contains("copy 17% (50000/300000 rows, 20000 rows/s, ETA 13 s)");
    }

    @Test
    void samplesOlderThanTheWindowStopCounting() {
        register();
        running.set(1);
        progress.read();
        nanos.addAndGet(1_000_000_000L);
        read.set(100_000);
        progress.read();
        nanos.addAndGet(40_000_000_000L);
        read.set(100_000);
        assertThat(progress.read().rowsPerSecond()).as("the burst 40 s ago is out of the window: nothing read since").isZero();
    }

    @Test
    void aFinishedCopyIsDoneAndLeavesTheStatusLine() {
        register();
        read.set(300_000);
        assertThat(progress.read().state()).isEqualTo(CopyProgress.State.DONE);
        assertThat(progress.statusText()).isEmpty();
        assertThat(progress.toJson().path("state").asText()).isEqualTo("done");
    }
}
