package dev.strangler.cli;

import dev.strangler.core.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Two-way sync PostgreSQL ⇄ PostgreSQL on a real broker: both directions, loop prevention, conflicts. */
class TwoWaySyncIT extends SandboxTestBase {

    private static final String ITEMS = "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, note text, secret text)";
    private static final String MONOLITH_VIEW = "SELECT id, name, qty, note FROM items ORDER BY id";
    private static final String SERVICE_VIEW = "SELECT id, title, qty, note FROM items ORDER BY id";
    private static final String TWO_WAY_ITEMS = """
            - from: public.items
              direction: two-way
              columns: {name: title, secret: null}""";

    @Test
    void oneChangeEachWayIsAppliedOnceAndNeverSentBack() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(ITEMS, "INSERT INTO items VALUES (1, 'one', 1, 'n', 's1'), (2, 'two', 2, 'n', 's2')");
            h.startStrangler(TWO_WAY_ITEMS);
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(60));
            awaitCaptureRunning(h);

            h.inMonolith("INSERT INTO items VALUES (3, 'three', 3, 'from monolith', 's3')");
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(30));
            h.givenService("UPDATE items SET qty = 30, note = 'from service' WHERE id = 3",
                    "INSERT INTO items (id, title, qty, note) VALUES (4, 'four', 4, 'born in service')");
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(30));
            // the column the service does not have is never blanked in the monolith
            assertThat(h.monolithRows("SELECT secret FROM items WHERE id = 3")).containsExactly(List.of("s3"));

            double toService = applied(h.metrics, "svc");
            double toMonolith = applied(h.metrics, "monolith.svc");
            assertThat(toMonolith).isEqualTo(2);
            // nothing the writers applied comes back, ever: the counts stay as they are for 30 s
            Awaitility.await().during(Duration.ofSeconds(30)).atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                assertThat(applied(h.metrics, "svc")).isEqualTo(toService);
                assertThat(applied(h.metrics, "monolith.svc")).isEqualTo(toMonolith);
            });
            assertThat(echoes(h.metrics, "monolith")).isEqualTo(2);
            assertThat(echoes(h.metrics, "svc")).isGreaterThanOrEqualTo(1);
            assertThat(counter(h.metrics, MetricNames.CONFLICTS)).isZero();
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(1));
        }
    }

    static void awaitCaptureRunning(StranglerHarness h) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> h.pipeline().components().stream()
                .filter(c -> c.name().startsWith("capture:")).allMatch(c -> c.state() == dev.strangler.core.ComponentState.RUNNING));
    }

    static double applied(MeterRegistry metrics, String target) {
        return metrics.find(MetricNames.APPLY_ROWS).tag(MetricNames.TAG_SERVICE, target).counters().stream().mapToDouble(Counter::count).sum();
    }

    static double echoes(MeterRegistry metrics, String origin) {
        return metrics.find(MetricNames.SYNC_ECHOES_DROPPED).tag(MetricNames.TAG_ORIGIN, origin).counters().stream().mapToDouble(Counter::count).sum();
    }

    static double counter(MeterRegistry metrics, String name) {
        return metrics.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
