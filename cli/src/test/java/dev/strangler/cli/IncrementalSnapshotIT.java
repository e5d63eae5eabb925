package dev.strangler.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A table added to the config after the initial copy: {@code strangler snapshot --table} copies its rows while changes flow. */
class IncrementalSnapshotIT extends SandboxTestBase {

    @Test
    void aTableAddedLaterIsCopiedOnDemandWhileItsChangesKeepFlowing() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE first (id bigint PRIMARY KEY, name text)", "INSERT INTO first VALUES (1, 'one')",
                    "CREATE TABLE later (id bigint PRIMARY KEY, name text)",
                    "INSERT INTO later SELECT g, 'row ' || g FROM generate_series(1, 5000) g");
            h.startStrangler("- from: public.first");
            h.awaitServiceMatchesMonolith("SELECT id, name FROM first", "SELECT id, name FROM first", Duration.ofSeconds(60));
            h.stopStrangler();

            String both = "- from: public.first\n- from: public.later";
            Path config = h.writeConfig(both);
            h.startStrangler(both);
            TwoWaySyncIT.awaitCaptureRunning(h);
            // the restarted capture adds the table to its publication; from then on its changes stream
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                    h.count(h.monolithDb, "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'later'") == 1);
            // the initial copy is long done: only new changes of the added table stream
            h.inMonolith("UPDATE later SET name = 'changed before the copy' WHERE id = 10");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT name FROM later WHERE id = 10")).containsExactly(List.of("changed before the copy")));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM later")).isEqualTo(1);

            CliResult bad = runCli("snapshot", "--table", "public.nope", "-c", config.toString());
            assertThat(bad.exitCode()).isEqualTo(Main.EXIT_CONFIG);
            assertThat(bad.stderr()).contains("public.nope is not a table the config captures");
            CliResult snapshot = runCli("snapshot", "--table", "public.later", "-c", config.toString());
            assertThat(snapshot.exitCode()).as(snapshot.stderr()).isZero();
            h.inMonolith("UPDATE later SET name = 'changed during the copy' WHERE id % 100 = 0", "DELETE FROM later WHERE id > 4990");
            String rows = "SELECT id, name FROM later ORDER BY id";
            h.awaitServiceMatchesMonolith(rows, rows, Duration.ofSeconds(90));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM later")).isEqualTo(4990);
        }
    }
}
