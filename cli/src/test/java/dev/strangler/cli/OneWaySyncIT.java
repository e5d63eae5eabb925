package dev.strangler.cli;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** One-way sync PostgreSQL → PostgreSQL on a real broker and a real PostgreSQL. */
class OneWaySyncIT extends SandboxTestBase {

    private static final String THINGS = """
            CREATE TABLE things (
              id bigint PRIMARY KEY,
              name text,
              amount numeric(38,10),
              happened timestamptz,
              uid uuid,
              doc jsonb,
              big text,
              flag boolean,
              n int)""";

    private static final String ALL_COLUMNS = "SELECT id, name, amount::text, happened::text, uid::text, doc::text, md5(big), length(big), flag, n FROM things ORDER BY id";

    @Test
    void everyKindOfChangeAndValueArrivesExactly() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(THINGS);
            h.startStrangler("- from: public.things");
            h.inMonolith(
                    "INSERT INTO things VALUES (1, 'plain', 1.5, '2024-02-29 23:59:59.123456+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2, {\"b\": null}]}', 'x', true, 1)",
                    "INSERT INTO things VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
                    "INSERT INTO things VALUES (3, 'ünïcödé ✓ 漢字 🚀 \"quoted\" ''single''', 9999999999999999999999999999.9999999999, '1970-01-01 00:00:00+00', gen_random_uuid(), '[]', repeat('0123456789abcdef', 65536), false, -2147483648)",
                    "INSERT INTO things VALUES (4, 'negative', -0.0000000001, '2262-04-11 23:47:16.854775+05:30', gen_random_uuid(), '\"scalar\"', '', NULL, 2147483647)");
            h.inMonolith(
                    "UPDATE things SET name = 'updated', amount = amount * 2 WHERE id = 1",
                    "UPDATE things SET n = 42 WHERE id = 3",      // does not touch the 1 MB TOAST value
                    "UPDATE things SET name = NULL, doc = NULL WHERE id = 4",
                    "DELETE FROM things WHERE id = 2",
                    "UPDATE things SET id = 40 WHERE id = 4");    // primary key change
            h.awaitServiceMatchesMonolith(ALL_COLUMNS, ALL_COLUMNS, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT length(big) FROM things WHERE id = 3").get(0).get(0)).isEqualTo("1048576");
            assertThat(h.serviceRows("SELECT count(*) FROM things").get(0).get(0)).isEqualTo("3");
        }
    }

    @Test
    void existingRowsAreCopiedThenChangesStream() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(THINGS, "INSERT INTO things (id, name, amount) SELECT g, 'row ' || g, g / 7.0 FROM generate_series(1, 3000) g");
            h.startStrangler("- from: public.things");
            h.awaitServiceMatchesMonolith(ALL_COLUMNS, ALL_COLUMNS, Duration.ofSeconds(60));
            h.inMonolith("UPDATE things SET name = 'after snapshot' WHERE id % 10 = 0",
                    "DELETE FROM things WHERE id > 2900",
                    "INSERT INTO things (id, name) SELECT g, 'new ' || g FROM generate_series(5001, 5100) g");
            h.awaitServiceMatchesMonolith(ALL_COLUMNS, ALL_COLUMNS, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT count(*) FROM things").get(0).get(0)).isEqualTo("3000");
        }
    }

    /**
     * The race a snapshot must survive: a transaction that begins while the replication slot is being
     * created and commits after the slot's consistent point is not in the snapshot, and is streamed
     * with change positions lower than the snapshot's. Its change must still win.
     */
    @Test
    void aTransactionSpanningTheSnapshotPointIsNotLost() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(THINGS, "INSERT INTO things (id, name) SELECT g, 'before' FROM generate_series(1, 100) g");
            try (var older = postgres.connect(h.monolithDb); var spanning = postgres.connect(h.monolithDb)) {
                older.setAutoCommit(false);
                spanning.setAutoCommit(false);
                older.createStatement().execute("UPDATE things SET name = 'older' WHERE id = 1");
                Thread starter = new Thread(() -> h.startStrangler("- from: public.things"));
                starter.start();
                // slot creation now waits for the older transaction to end
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
                        h.count(h.monolithDb, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'") > 0);
                spanning.createStatement().execute("UPDATE things SET name = 'spanning' WHERE id = 2");
                older.commit();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
                        h.count(h.monolithDb, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.prefix + "'") > 0);
                spanning.commit();
                starter.join();
            }
            h.awaitServiceMatchesMonolith(ALL_COLUMNS, ALL_COLUMNS, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT name FROM things WHERE id IN (1, 2) ORDER BY id")).extracting(r -> r.get(0))
                    .containsExactly("older", "spanning");
        }
    }

    /**
     * A stop leaves no capture behind, also one that comes while Debezium's tasks are still starting (the engine
     * refuses to close then): the replication slot is free and the capture's offsets admin client is closed.
     */
    @Test
    void stoppingLeavesNoCaptureRunningEvenWhileItsTasksStart() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(THINGS);
            String slotActive = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.topicPrefix() + "' AND active";
            // the capture alone, stopped at once (before Debezium's engine runs), then stopped as soon as Debezium has
            // a connection to the monolith (its tasks are starting: the stop waits for them)
            h.startStranglerWith(h.config("- from: public.things"), java.util.Set.of(Pipeline.Part.CAPTURE));
            h.stopStrangler();
            h.startStranglerWith(h.config("- from: public.things"), java.util.Set.of(Pipeline.Part.CAPTURE));
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5)).until(() -> h.count("postgres",
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + h.monolithDb + "' AND application_name ILIKE '%debezium%'") > 0);
            h.stopStrangler();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> h.count("postgres", slotActive) == 0);
            assertThat(offsetsAdminThreads(h)).isEmpty();

            h.startStrangler("- from: public.things");
            h.inMonolith("INSERT INTO things (id, name) VALUES (1, 'after a stop during the start')");
            h.awaitServiceMatchesMonolith(ALL_COLUMNS, ALL_COLUMNS, Duration.ofSeconds(60));
            assertThat(offsetsAdminThreads(h)).hasSize(1);
            h.stopStrangler();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> h.count("postgres", slotActive) == 0);
            assertThat(offsetsAdminThreads(h)).isEmpty();
        }
    }

    private static java.util.List<String> offsetsAdminThreads(StranglerHarness h) {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.contains("kafka-admin-client-thread | " + h.topicPrefix() + ".") && name.endsWith("-admin"))
                .toList();
    }

    @Test
    void tablesAndColumnsAreRenamedDroppedAndFiltered() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, order_note text, internal_flag boolean)",
                    "INSERT INTO orders VALUES (1, 'paid', 'a', true), (2, 'draft', 'b', false), (3, 'placed', NULL, NULL)");
            h.startStrangler("""
                    - from: public.orders
                      to: sales.orders
                      columns: {order_note: note, internal_flag: null}
                      where: "status <> 'draft'"
                    """);
            String expected = "SELECT id, status, order_note FROM orders WHERE status <> 'draft' ORDER BY id";
            String actual = "SELECT id, status, note FROM sales.orders ORDER BY id";
            h.awaitServiceMatchesMonolith(expected, actual, Duration.ofSeconds(60));
            h.inMonolith("UPDATE orders SET status = 'draft' WHERE id = 1", "UPDATE orders SET status = 'paid' WHERE id = 2",
                    "INSERT INTO orders VALUES (4, 'draft', 'never', true)");
            h.awaitServiceMatchesMonolith(expected, actual, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT column_name FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'orders' ORDER BY ordinal_position"))
                    .extracting(r -> r.get(0)).containsExactly("id", "status", "note", "strangler_version");
        }
    }

    @Test
    void configThatDoesNotFitTheDatabasesStopsWithEveryProblemAndExitCode2() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE orders (id int PRIMARY KEY, status text)", "CREATE TABLE nokey (a int)");
            var config = h.writeConfig("""
                    - from: public.ordrs
                    - from: public.orders
                      columns: {statsu: state}
                      where: "stauts = 'x'"
                    - from: public.nokey
                    """);
            CliResult result = runCli("run", "--config", config.toString());
            String message = result.stderr();
            assertThat(result.exitCode()).isEqualTo(2);
            assertThat(message)
                    .contains("services.svc.tables[0].from: table public.ordrs does not exist in the monolith; did you mean public.orders?")
                    .contains("services.svc.tables[1].columns.statsu: column statsu does not exist in public.orders; did you mean status?")
                    .contains("services.svc.tables[1].where: reads column stauts, which public.orders does not have; did you mean status?")
                    .contains("services.svc.tables[2].from: table public.nokey has no primary key")
                    .doesNotContain("password: postgres");
        }
    }

    @Test
    void aBadConfigFileGivesExitCode2WithoutTouchingAnything() throws Exception {
        var file = java.nio.file.Files.createTempFile("bad", ".yaml");
        java.nio.file.Files.writeString(file, "kafka: {bootstrap: nowhere}\nservices: {}\n");
        CliResult result = runCli("run", "--config", file.toString());
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.stderr())
                .contains("kafka.bootstrap: 'nowhere' is not host:port")
                .contains("monolith.url: is required")
                .contains("services: names no service");
        assertThat(Main.execute("run", "--config", "/does/not/exist.yaml")).isEqualTo(2);
    }
}
