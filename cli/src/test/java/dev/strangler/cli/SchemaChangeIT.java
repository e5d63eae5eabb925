package dev.strangler.cli;

import dev.strangler.core.MetricNames;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The monolith's schema changes while Strangler runs: the service table follows what it safely can. */
class SchemaChangeIT extends SandboxTestBase {

    @Test
    void anAddedAWidenedAndADroppedColumnAreFollowedAndARenameIsNot() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id bigint PRIMARY KEY, code varchar(5), legacy text NOT NULL, qty int)",
                    "INSERT INTO items VALUES (1, 'a', 'old', 1), (2, 'b', 'old', 2)", "CREATE TABLE other (id bigint PRIMARY KEY, note text)");
            java.nio.file.Path config = h.writeConfig("- from: public.items\n- from: public.other");
            h.startStrangler("- from: public.items\n- from: public.other");
            h.awaitServiceMatchesMonolith("SELECT id, code, legacy, qty FROM items ORDER BY id", "SELECT id, code, legacy, qty FROM items ORDER BY id",
                    Duration.ofSeconds(60));
            TwoWaySyncIT.awaitCaptureRunning(h);

            // added: the next rows carry it, and the service table gets it
            h.inMonolith("ALTER TABLE items ADD COLUMN color text", "UPDATE items SET color = 'red' WHERE id = 1",
                    "INSERT INTO items VALUES (3, 'c', 'old', 3, 'blue')");
            String withColor = "SELECT id, code, legacy, qty, color FROM items ORDER BY id";
            h.awaitServiceMatchesMonolith(withColor, withColor, Duration.ofSeconds(30));

            // widened: a longer value fits after the service's column follows
            h.inMonolith("ALTER TABLE items ALTER COLUMN code TYPE varchar(20)", "INSERT INTO items VALUES (4, 'fifteen letters', 'old', 4, NULL)");
            h.awaitServiceMatchesMonolith(withColor, withColor, Duration.ofSeconds(30));
            assertThat(h.serviceRows("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'code'"))
                    .containsExactly(List.of("character varying(20)"));

            // dropped: a NOT NULL column the monolith no longer has goes from the service too
            h.inMonolith("ALTER TABLE items DROP COLUMN legacy", "INSERT INTO items VALUES (5, 'e', 5, 'green')");
            String withoutLegacy = "SELECT id, code, qty, color FROM items ORDER BY id";
            h.awaitServiceMatchesMonolith(withoutLegacy, withoutLegacy, Duration.ofSeconds(30));
            assertThat(h.serviceRows("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'legacy'"))
                    .containsExactly(List.of("0"));
            assertThat(TwoWaySyncIT.counter(h.metrics, MetricNames.WRITER_SCHEMA_CHANGES)).isEqualTo(3);

            // renamed: not guessed; the table pauses (its rows wait in the park, a metric says so), other tables flow
            h.inMonolith("ALTER TABLE items RENAME COLUMN qty TO quantity", "ALTER TABLE items ALTER COLUMN quantity SET NOT NULL");
            h.givenService("ALTER TABLE items ALTER COLUMN qty SET NOT NULL");
            h.inMonolith("INSERT INTO items VALUES (6, 'f', 6, 'pink')", "INSERT INTO other VALUES (1, 'flows')",
                    "INSERT INTO items VALUES (7, 'g', 7, 'grey')");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT note FROM other")).containsExactly(List.of("flows")));
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(h.metrics.get(MetricNames.WRITER_TABLE_PAUSED)
                    .tag(MetricNames.TAG_TARGET_TABLE, "public.items").gauge().value()).isEqualTo(1.0));
            assertThat(h.serviceRows("SELECT count(*) FROM items WHERE id >= 6")).containsExactly(List.of("0"));
            // row 7 commits after the row of other that was awaited: it may still be on its way
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                    h.serviceRows("SELECT count(*) FROM strangler_parked WHERE reason LIKE 'paused: %' AND reason LIKE '%a rename?%'"))
                    .containsExactly(List.of("2")));
            h.inMonolith("INSERT INTO other VALUES (2, 'still flows')");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT count(*) FROM other")).containsExactly(List.of("2")));
            // the operator renames the service column too: the waiting rows are applied, in order, without a replay or restart
            h.givenService("ALTER TABLE items RENAME COLUMN qty TO quantity");
            String renamed = "SELECT id, code, quantity, color FROM items ORDER BY id";
            h.awaitServiceMatchesMonolith(renamed, renamed, Duration.ofSeconds(30));
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(h.metrics.get(MetricNames.WRITER_TABLE_PAUSED)
                    .tag(MetricNames.TAG_TARGET_TABLE, "public.items").gauge().value()).isZero());
            assertThat(h.serviceRows("SELECT count(*) FROM strangler_parked")).containsExactly(List.of("0"));
            assertThat(runCli("dlq", "list", "-c", config.toString()).stdout()).doesNotContain("public.items");
            // later changes of the table flow as before
            h.inMonolith("UPDATE items SET quantity = 70 WHERE id = 7");
            h.awaitServiceMatchesMonolith(renamed, renamed, Duration.ofSeconds(30));

            // dropped, nullable: the service never rejects a row for it; the first row without it makes the service drop it too
            h.inMonolith("ALTER TABLE items DROP COLUMN color", "INSERT INTO items VALUES (8, 'h', 8)");
            String withoutColor = "SELECT id, code, quantity FROM items ORDER BY id";
            h.awaitServiceMatchesMonolith(withoutColor, withoutColor, Duration.ofSeconds(30));
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(h.serviceRows(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'color'")).containsExactly(List.of("0")));

            // narrowed (varchar(20) followed earlier, now 16): not followed; the table pauses until the service column matches
            h.inMonolith("ALTER TABLE items ALTER COLUMN code TYPE varchar(16)");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(h.metrics.get(MetricNames.WRITER_TABLE_PAUSED)
                    .tag(MetricNames.TAG_TARGET_TABLE, "public.items").gauge().value()).isEqualTo(1.0));
            h.inMonolith("INSERT INTO items VALUES (9, 'i', 9)", "INSERT INTO other VALUES (3, 'flows on')");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT count(*) FROM other")).containsExactly(List.of("3")));
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(h.serviceRows(
                    "SELECT count(*) FROM strangler_parked WHERE reason LIKE 'paused: %narrowed code from character varying(20) to "
                            + "character varying(16)%ALTER TABLE \"public\".\"items\" ALTER COLUMN \"code\" TYPE character varying(16)%'"))
                    .containsExactly(List.of("1")));
            assertThat(h.serviceRows("SELECT count(*) FROM items WHERE id = 9")).containsExactly(List.of("0"));
            h.givenService("ALTER TABLE items ALTER COLUMN code TYPE varchar(16)");
            h.awaitServiceMatchesMonolith(withoutColor, withoutColor, Duration.ofSeconds(30));
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(h.metrics.get(MetricNames.WRITER_TABLE_PAUSED)
                    .tag(MetricNames.TAG_TARGET_TABLE, "public.items").gauge().value()).isZero());
            assertThat(h.serviceRows("SELECT count(*) FROM strangler_parked")).containsExactly(List.of("0"));
        }
    }
}
