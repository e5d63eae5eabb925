package dev.strangler.cli;

import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code strangler reset} on a real broker and databases: says what it removes, removes only that, and a fresh start works. */
class ResetIT extends SandboxTestBase {

    private static Set<String> topics() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aResetListsWhatGoesRemovesItAndTheNextStartCopiesAgain() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
            h.startStrangler("- from: public.items");
            h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM public.items ORDER BY id", Duration.ofSeconds(60));
            h.stopStrangler();
            String prefix = h.topicPrefix();
            new dev.strangler.router.RouteControl(new dev.strangler.connectors.KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1),
                    prefix + ".routes", Map.of(), java.time.Clock.systemUTC(), "test").close();
            java.nio.file.Path config = h.writeConfig("- from: public.items", "");
            assertThat(topics()).contains(prefix + ".apply.svc");

            CliResult dry = runCli("reset", "-c", config.toString(), "--dry-run");
            assertThat(dry.exitCode()).as(dry.stderr()).isZero();
            assertThat(dry.stdout()).contains("Would remove (dry run, nothing changes):", "monolith: drop replication slot",
                    "kafka: delete topic " + prefix + ".apply.svc", "kafka: delete consumer group " + prefix + "-sync-engine",
                    "service svc: drop tables strangler_offsets and strangler_parked");
            assertThat(topics()).as("a dry run changes nothing").contains(prefix + ".apply.svc");
            assertThat(h.serviceRows("SELECT count(*) FROM strangler_offsets")).isNotEmpty();

            CliResult unconfirmed = runCli("reset", "-c", config.toString());
            assertThat(unconfirmed.exitCode()).isEqualTo(Main.EXIT_CONFIG);
            assertThat(unconfirmed.stderr()).contains("add --yes");

            // a copy (capture.snapshot: copy) killed while it had dropped a table's key and index to build them at its end
            h.givenService("CREATE TABLE copied (id int NOT NULL, name text)", "INSERT INTO copied VALUES (1, 'a'), (2, 'b')",
                    "CREATE TABLE strangler_copy (writer text NOT NULL, target_table text NOT NULL, source_table text NOT NULL, last_key text[], "
                            + "rows_copied bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL DEFAULT now(), "
                            + "deferred text[], PRIMARY KEY (writer, target_table))",
                    "INSERT INTO strangler_copy (writer, target_table, source_table, last_key, rows_copied, deferred) VALUES ('w', 'public.copied', "
                            + "'public.copied', '{2}', 2, ARRAY['CREATE INDEX copied_name ON public.copied USING btree (name)', "
                            + "'ALTER TABLE public.copied ADD CONSTRAINT copied_pkey PRIMARY KEY (id)'])");

            CliResult reset = runCli("reset", "-c", config.toString(), "--yes");
            assertThat(reset.exitCode()).as(reset.stderr() + reset.stdout()).isZero();
            assertThat(reset.stdout()).contains("service svc: built again the indexes and keys an unfinished copy had dropped from [public.copied]");
            assertThat(h.serviceRows("SELECT count(*) FROM pg_constraint WHERE conrelid = 'copied'::regclass AND contype = 'p'"))
                    .containsExactly(java.util.List.of("1"));
            assertThat(h.serviceRows("SELECT count(*) FROM pg_indexes WHERE indexname = 'copied_name'")).containsExactly(java.util.List.of("1"));
            assertThat(topics()).noneMatch(t -> t.startsWith(prefix + ".cdc") || t.startsWith(prefix + ".apply") || t.startsWith(prefix + "-sync-engine"));
            assertThat(h.monolithRows("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")).containsExactly(java.util.List.of("0"));
            assertThat(h.serviceRows("SELECT to_regclass('strangler_offsets') IS NULL")).containsExactly(java.util.List.of("t"));
            assertThat(h.serviceRows("SELECT count(*) FROM public.items")).as("service rows are kept").containsExactly(java.util.List.of("50"));

            // a fresh start copies the table again, over the rows already there
            h.inMonolith("UPDATE items SET name = 'renamed' WHERE id = 7");
            h.startStrangler("- from: public.items");
            h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM public.items ORDER BY id", Duration.ofSeconds(60));
        }
    }

    @Test
    void aTwoWayResetAlsoRemovesTheServicesSlotAndTheMarkerTablesAndTwoWaySyncStartsAgain() throws Exception {
        String tables = "- {from: public.items, direction: two-way}";
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)", "INSERT INTO items VALUES (1, 'one')");
            h.startStrangler(tables);
            h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM items ORDER BY id", Duration.ofSeconds(60));
            TwoWaySyncIT.awaitCaptureRunning(h);
            h.stopStrangler();
            java.nio.file.Path config = h.writeConfig(tables, "");
            String serviceSlot = h.topicPrefix() + "_svc";
            assertThat(h.serviceRows("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + serviceSlot + "'")).containsExactly(java.util.List.of("1"));

            CliResult dry = runCli("reset", "-c", config.toString(), "--dry-run");
            assertThat(dry.stdout()).contains("service svc (two-way): drop replication slot " + serviceSlot,
                    "monolith (two-way, writer " + h.topicPrefix() + "-writer-monolith.svc): drop tables strangler_offsets, strangler_parked and strangler_origin");
            CliResult reset = runCli("reset", "-c", config.toString(), "--yes");
            assertThat(reset.exitCode()).as(reset.stderr() + reset.stdout()).isZero();
            assertThat(h.serviceRows("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + serviceSlot + "'")).containsExactly(java.util.List.of("0"));
            assertThat(h.serviceRows("SELECT to_regclass('public.strangler_origin') IS NULL")).containsExactly(java.util.List.of("t"));
            assertThat(h.monolithRows("SELECT to_regclass('public.strangler_origin') IS NULL, to_regclass('strangler_offsets') IS NULL"))
                    .containsExactly(java.util.List.of("t", "t"));

            h.startStrangler(tables);
            TwoWaySyncIT.awaitCaptureRunning(h);
            h.givenService("INSERT INTO items (id, name) VALUES (2, 'from the service')");
            h.awaitServiceMatchesMonolith("SELECT id, name FROM items ORDER BY id", "SELECT id, name FROM items ORDER BY id", Duration.ofSeconds(60));
        }
    }
}
