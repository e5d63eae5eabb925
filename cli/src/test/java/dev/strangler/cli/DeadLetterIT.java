package dev.strangler.cli;

import dev.strangler.core.ComponentState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Rows the service database rejects: the dead-letter path, {@code strangler dlq list|replay}, and {@code onError: stop}. */
class DeadLetterIT extends SandboxTestBase {

    private static final String ITEMS = "CREATE TABLE items (id bigint PRIMARY KEY, code text, qty int)";
    /** the service enforces a rule the monolith does not: a longer code is rejected (a schema difference would be followed) */
    private static final String NARROW_ITEMS = "CREATE TABLE items (id bigint PRIMARY KEY, code text CONSTRAINT short_code CHECK (length(code) <= 5), "
            + "qty int, strangler_version bigint)";

    @Test
    void aRejectedRowIsDeadLetteredTheRestFlowsAndAReplayAfterTheFixAppliesIt() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(ITEMS).givenService(NARROW_ITEMS);
            Path config = h.writeConfig("- from: public.items");
            h.startStrangler("- from: public.items");
            TwoWaySyncIT.awaitCaptureRunning(h);
            h.inMonolith("INSERT INTO items VALUES (1, 'ok', 1)",
                    "INSERT INTO items VALUES (2, 'much too long', 2)",
                    "INSERT INTO items VALUES (3, 'also too long', 3)",
                    "INSERT INTO items VALUES (4, 'later', 4)");
            // the rows around the poison ones arrive
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT id, code FROM items ORDER BY id")).containsExactly(List.of("1", "ok"), List.of("4", "later")));

            CliResult list = runCli("dlq", "list", "-c", config.toString());
            assertThat(list.exitCode()).isZero();
            assertThat(list.stdout()).contains("write", "writer:svc", "public.items", "short_code");
            assertThat(list.stdout().lines().filter(l -> l.contains("public.items"))).hasSize(2);

            // row 3 changes again in the monolith (a valid value): the replay of its old version must not set it back
            h.givenService("ALTER TABLE items DROP CONSTRAINT short_code");
            h.inMonolith("UPDATE items SET code = 'fixed', qty = 30 WHERE id = 3");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT code FROM items WHERE id = 3")).containsExactly(List.of("fixed")));

            CliResult dry = runCli("dlq", "replay", "--dry-run", "-c", config.toString());
            assertThat(dry.stdout()).contains("2 letters would be replayed");
            CliResult replay = runCli("dlq", "replay", "-c", config.toString());
            assertThat(replay.exitCode()).as(replay.stderr()).isZero();
            assertThat(replay.stdout()).contains("2 letters replayed");
            h.awaitServiceMatchesMonolith("SELECT id, code, qty FROM items ORDER BY id", "SELECT id, code, qty FROM items ORDER BY id", Duration.ofSeconds(30));
            assertThat(h.serviceRows("SELECT code, qty FROM items WHERE id = 3")).containsExactly(List.of("fixed", "30"));

            assertThat(runCli("dlq", "list", "-c", config.toString()).stdout()).contains("no dead letters waiting");
            assertThat(runCli("dlq", "list", "--all", "-c", config.toString()).stdout()).contains("yes");
            assertThat(runCli("dlq", "replay", "-c", config.toString()).stdout()).contains("nothing to replay");
        }
    }

    @Test
    void withOnErrorStopTheWriterStopsSayingWhyAndARestartAfterTheFixGoesOn() {
        String tables = """
                - from: public.items
                  onError: stop""";
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(ITEMS).givenService(NARROW_ITEMS);
            h.startStrangler(tables);
            TwoWaySyncIT.awaitCaptureRunning(h);
            h.inMonolith("INSERT INTO items VALUES (1, 'ok', 1)");
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM items") == 1);
            h.inMonolith("INSERT INTO items VALUES (2, 'much too long', 2)", "INSERT INTO items VALUES (3, 'after', 3)");
            var writer = h.pipeline().writers().get(0);
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> writer.state() == ComponentState.FAILED);
            assertThat(writer.failure().orElseThrow()).contains("public.items", "\"id\":2", "short_code", "onError is stop", "restart");
            // nothing after the poison row was applied: order is kept
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM items")).isEqualTo(1);

            h.stopStrangler();
            h.givenService("ALTER TABLE items DROP CONSTRAINT short_code");
            h.startStrangler(tables);
            h.awaitServiceMatchesMonolith("SELECT id, code, qty FROM items ORDER BY id", "SELECT id, code, qty FROM items ORDER BY id", Duration.ofSeconds(60));
        }
    }
}
