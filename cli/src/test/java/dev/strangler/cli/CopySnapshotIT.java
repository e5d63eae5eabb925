package dev.strangler.cli;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code capture.snapshot: copy}: the initial copy with PostgreSQL's COPY, straight into the service, while
 * changes stream; killed midway it resumes after its last chunk.
 */
class CopySnapshotIT extends SandboxTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(CopySnapshotIT.class);
    private static final int ROWS = 1_000_000;

    /**
     * A million rows copied while a workload updates, deletes and inserts rows all over the table (copied and
     * not yet copied), three chunks at once, killed (kill -9) once 100,000 rows are copied while chunks wait to commit:
     * the restart resumes after the last chunk committed, and the service ends equal to the monolith with no row
     * inserted twice.
     */
    @Test
    void aMillionRowCopyKilledMidwayUnderLoadResumesWithoutGapsOrDoubles() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE big (id bigint PRIMARY KEY, rev int NOT NULL, note text)",
                    "INSERT INTO big SELECT g, 0, 'row ' || g FROM generate_series(1, " + ROWS + ") g", "ANALYZE big");
            // a per-row trigger log of a million copied rows would cost more than the copy; a row copied twice cannot hide:
            // the table is empty, so the copy drops its primary key and builds it after the last chunk, which would fail
            // on a doubled row (and each chunk commits with its progress row). The kill lands while the key is dropped.
            h.givenService("CREATE TABLE big (id bigint PRIMARY KEY, rev int NOT NULL, note text, strangler_version bigint)",
                    "CREATE INDEX big_rev ON big (rev)");
            Path logs = Files.createDirectories(Path.of("target", "it-logs", "copy-" + System.nanoTime()).toAbsolutePath());
            Path config = h.writeConfigText(h.config("- from: public.big")
                    .replace("capture:\n", "capture:\n  snapshot: copy\n  copyChunkRows: 10000\n  copyThreads: 3\n"));
            Process strangler = CrashSafetyIT.startProcess(config, logs.resolve("run-1.log"));

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            Thread workload = new Thread(() -> workload(h, running, transactions), "copy-workload");
            workload.start();

            // the progress row held once 100,000 rows are in: the next chunk to commit waits for it with its rows in, the
            // chunks after it (three copy at once) wait for their turn with theirs; the kill lands then
            String copied = "SELECT coalesce(max(rows_copied), 0) FROM strangler_copy";
            try (java.sql.Connection holder = postgres.connect(h.serviceDb)) {
                holder.setAutoCommit(false);
                long held = holdProgressRow(holder, "public.big", 100_000, Duration.ofSeconds(120));
                assertThat(held).as("the kill lands in the middle of the copy").isBetween(100_000L, ROWS - 100_000L);
                String health = awaitHealthAddress(logs.resolve("run-1.log"));
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM pg_stat_activity "
                        + "WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO strangler_copy%'") == 1);
                // meanwhile /health says how far the copy got
                Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().untilAsserted(() -> {
                    com.fasterxml.jackson.databind.JsonNode copy = dev.strangler.core.Json.mapper().readTree(
                            java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(health)).build(),
                                    java.net.http.HttpResponse.BodyHandlers.ofString()).body()).path("copy");
                    assertThat(copy.path("state").asText()).isEqualTo("running");
                    assertThat(copy.path("rowsEstimated").asLong()).isEqualTo(ROWS);
                    assertThat(copy.path("rowsScanned").asLong()).isPositive();
                });
                strangler.destroyForcibly().waitFor();
                holder.rollback();
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM pg_stat_activity "
                    + "WHERE query LIKE 'INSERT INTO strangler_copy%' AND state <> 'idle'") == 0);
            long copiedBeforeKill = h.count(h.serviceDb, copied);
            LOG.info("killed with {} rows copied, {} workload transactions", copiedBeforeKill, transactions.get());
            assertThat(copiedBeforeKill).as("the kill lands in the middle of the copy").isLessThan(ROWS - 100_000);

            strangler = CrashSafetyIT.startProcess(config, logs.resolve("run-2.log"));
            Awaitility.await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> h.count(h.serviceDb, "SELECT count(*) FROM strangler_copy WHERE done") == 1);
            long stopAt = transactions.get() + 200;
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> transactions.get() > stopAt);
            running.set(false);
            workload.join();

            // a million rows compared as a count and a digest of them all, in each database
            String digest = "SELECT count(*), md5(string_agg(id || ':' || rev || ':' || coalesce(note, '~'), ',' ORDER BY id)) FROM big";
            h.awaitServiceMatchesMonolith(digest, digest, Duration.ofSeconds(120));
            assertThat(h.count(h.serviceDb, "SELECT max(rows_copied) FROM strangler_copy"))
                    .as("rows copied across both runs: each chunk once (the table had 1,000,000 rows, give or take the workload's)")
                    .isBetween(ROWS - 20_000L, ROWS + 20_000L);
            assertThat(Files.readString(logs.resolve("run-2.log"))).contains("resumes after key [")
                    .as("the index builds after the copy with capture.copyIndexMemory (default 256MB; the server's is 64MB)")
                    .contains("built its 2 deferred indexes and constraints in").contains("(maintenance_work_mem 256MB)");
            assertThat(Files.readString(logs.resolve("run-1.log"))).contains("public.big is empty: it is copied without CONSTRAINT \"big_pkey\", INDEX");
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'big'::regclass AND contype = 'p'"))
                    .as("the primary key, built again after the last chunk").isEqualTo(1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_indexes WHERE indexname = 'big_rev'")).isEqualTo(1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_copy WHERE deferred IS NOT NULL")).isZero();
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).as("nothing left in the park").isZero();
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * Parents before children, a child whose parent is deleted after the child's chunk was read (the chunk is
     * read again without it), a service table that already holds rows: rows with a version stay, rows
     * without one are overwritten by the copy; and a table whose rows point at rows of later chunks (a foreign
     * key to itself, dropped for the copy and validated after it) while rows they point at are deleted.
     */
    @Test
    void foreignKeysAndATableThatIsNotEmpty() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE parent (id bigint PRIMARY KEY, name text)",
                    "CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent ON DELETE CASCADE, name text)",
                    "CREATE TABLE prefilled (id bigint PRIMARY KEY, name text)",
                    "CREATE TABLE node (id bigint PRIMARY KEY, up bigint REFERENCES node ON DELETE SET NULL, name text)",
                    "CREATE TABLE parted (id bigint PRIMARY KEY, name text)",
                    "INSERT INTO parted SELECT g, 'parted ' || g FROM generate_series(1, 3000) g",
                    // every node points at one of a later chunk (1,000 rows a chunk), the last ones back at the first
                    "INSERT INTO node SELECT g, 1 + (g + 2500) % 5000, 'node ' || g FROM generate_series(1, 5000) g",
                    "INSERT INTO parent SELECT g, 'parent ' || g FROM generate_series(1, 5000) g",
                    "INSERT INTO child SELECT g, 1 + g % 5000, 'child ' || g FROM generate_series(1, 20000) g",
                    "INSERT INTO prefilled SELECT g, 'monolith ' || g FROM generate_series(1, 5000) g", "ANALYZE");
            h.givenService("CREATE TABLE parent (id bigint PRIMARY KEY, name text, strangler_version bigint)",
                    "CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent ON DELETE CASCADE, name text, "
                            + "strangler_version bigint)",
                    "CREATE TABLE prefilled (id bigint PRIMARY KEY, name text, strangler_version bigint)",
                    "CREATE TABLE node (id bigint PRIMARY KEY, up bigint REFERENCES node ON DELETE SET NULL, name text, strangler_version bigint)",
                    "CREATE INDEX node_up ON node (up)",
                    // partitioned in the service: copied with its indexes in place (they are built per partition)
                    "CREATE TABLE parted (id bigint PRIMARY KEY, name text, strangler_version bigint) PARTITION BY RANGE (id)",
                    "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (1500)",
                    "CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (1500) TO (MAXVALUE)",
                    "CREATE INDEX parted_name ON parted (name)",
                    // rows loaded by hand before Strangler (no version) and a row the monolith does not have
                    "INSERT INTO prefilled SELECT g, 'stale ' || g, NULL FROM generate_series(1, 1000) g");
            String tables = "- from: public.parent\n- from: public.child\n- from: public.prefilled\n- from: public.node\n- from: public.parted";
            h.startStranglerWith(h.config(tables).replace("capture:\n", "capture:\n  snapshot: copy\n  copyChunkRows: 1000\n"));
            // while the copy runs: parents deleted with their children (some while their children are being copied),
            // new parents with new children, children changed
            String childDone = "SELECT count(*) FROM strangler_copy WHERE target_table = 'public.child' AND done";
            double waitingForTable = 0;
            // child's copy held at its first chunk (parent is done, so the writer reads changes again): a new child
            // waits in the park for child's copy, counted apart from rows that wait for a parent
            try (java.sql.Connection holder = postgres.connect(h.serviceDb)) {
                holder.setAutoCommit(false);
                holdProgressRow(holder, "public.child", 0, Duration.ofSeconds(60));
                h.inMonolith("INSERT INTO child VALUES (99999, 1, 'while child is copied')");
                Awaitility.await().atMost(Duration.ofSeconds(30))
                        .until(() -> h.metrics.get("strangler.writer.parked.waiting.for.table").gauge().value() > 0);
                waitingForTable = h.metrics.get("strangler.writer.parked.waiting.for.table").gauge().value();
                holder.rollback();
            }
            for (int i = 0; i < 400 && h.count(h.serviceDb, childDone) == 0; i++) {
                // rows parked for a table being copied are counted apart (the parked-long alert leaves them out)
                double waiting = h.metrics.get("strangler.writer.parked.waiting.for.table").gauge().value();
                assertThat(waiting).isLessThanOrEqualTo(h.metrics.get("strangler.writer.parked.now").gauge().value());
                waitingForTable = Math.max(waitingForTable, waiting);
                h.inMonolith("DELETE FROM parent WHERE id IN (SELECT id FROM parent WHERE id % 400 = " + i + " LIMIT 3)",
                        "INSERT INTO parent VALUES (" + (100_000 + i) + ", 'new')",
                        "INSERT INTO child VALUES (" + (100_000 + i) + ", " + (100_000 + i) + ", 'new child')",
                        "UPDATE child SET name = 'changed' WHERE id % 997 = " + i,
                        // nodes of later chunks, pointed at by nodes that may be copied already
                        "DELETE FROM node WHERE id = " + (2600 + i * 5));
                java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
            }
            assertThat(waitingForTable).as("rows waited for child's copy").isPositive();
            h.inMonolith("UPDATE prefilled SET name = 'changed' WHERE id % 100 = 0");
            h.inMonolith("DELETE FROM node WHERE id IN (4990, 2)");
            for (String table : List.of("parent", "child", "prefilled", "node", "parted")) {
                String rows = "SELECT * FROM " + table + " ORDER BY id";
                String serviceRows = "SELECT " + (table.equals("child") ? "id, parent_id, name" : table.equals("node") ? "id, up, name" : "id, name")
                        + " FROM " + table + " ORDER BY id";
                h.awaitServiceMatchesMonolith(rows, serviceRows, Duration.ofSeconds(120));
            }
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_copy WHERE done")).isEqualTo(5);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                    + "WHERE c.relname IN ('parted_1', 'parted_2') AND i.indisvalid")).as("key and index of each partition").isEqualTo(4);
            // node's key, index and foreign key to itself were dropped for the copy and are back; the key of parent,
            // which child's foreign key needs, stayed
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb,
                    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'node'::regclass AND contype = 'f' AND convalidated") == 1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'node'::regclass AND contype = 'p'")).isEqualTo(1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_indexes WHERE indexname = 'node_up'")).isEqualTo(1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'parent'::regclass AND contype = 'p'")).isEqualTo(1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).isZero();
        }
    }

    /**
     * A TRUNCATE of the table in the monolith while it is copied, then new rows: the service ends with the new
     * rows only. (A chunk's read holds its lock on the monolith table until the chunk committed in the service,
     * so the truncate commits after every chunk read before it, and the writer's delete sees them all.)
     */
    @Test
    void aTruncateDuringTheCopyLeavesNoRowBehind() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE events (id bigint PRIMARY KEY, note text)",
                    "INSERT INTO events SELECT g, 'old ' || g FROM generate_series(1, 300000) g", "ANALYZE events");
            h.startStranglerWith(h.config("- from: public.events").replace("capture:\n", "capture:\n  snapshot: copy\n  copyChunkRows: 300\n"));
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).ignoreExceptions()
                    .until(() -> h.count(h.serviceDb, "SELECT rows_copied FROM strangler_copy") >= 3000);
            h.inMonolith("TRUNCATE events", "INSERT INTO events SELECT g, 'new ' || g FROM generate_series(1, 500) g",
                    "INSERT INTO events SELECT g, 'new ' || g FROM generate_series(299000, 301000) g");
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM strangler_copy WHERE done") == 1);
            h.awaitServiceMatchesMonolith("SELECT id, note FROM events ORDER BY id", "SELECT id, note FROM events ORDER BY id", Duration.ofSeconds(120));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype = 'p'")).isEqualTo(1);
        }
    }

    /**
     * A copy that stopped after its last chunk but before it validated a foreign key to the table itself (the key
     * is back, NOT VALID): the next start validates it, with every table already copied.
     */
    @Test
    void aForeignKeyACopyLeftNotValidIsValidatedOnTheNextStart() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE tree (id bigint PRIMARY KEY, up bigint REFERENCES tree, name text)",
                    "INSERT INTO tree VALUES (1, NULL, 'root'), (2, 1, 'leaf')");
            h.givenService("CREATE TABLE tree (id bigint PRIMARY KEY, up bigint, name text, strangler_version bigint)",
                    "INSERT INTO tree VALUES (1, NULL, 'root', 0), (2, 1, 'leaf', 0)",
                    "ALTER TABLE tree ADD CONSTRAINT tree_up_fkey FOREIGN KEY (up) REFERENCES tree NOT VALID",
                    "CREATE TABLE strangler_copy (writer text NOT NULL, target_table text NOT NULL, source_table text NOT NULL, last_key text[], "
                            + "rows_copied bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL DEFAULT now(), "
                            + "deferred text[], PRIMARY KEY (writer, target_table))",
                    "INSERT INTO strangler_copy (writer, target_table, source_table, rows_copied, done) VALUES ('" + h.topicPrefix()
                            + "-writer-svc', 'public.tree', 'public.tree', 2, true)");
            h.startStranglerWith(h.config("- from: public.tree").replace("capture:\n", "capture:\n  snapshot: copy\n"));
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> h.count(h.serviceDb,
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'tree_up_fkey' AND convalidated") == 1);
            // with every table copied, nothing waited for the capture's slot; a change is streamed once it is consistent
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> h.count(h.monolithDb,
                    "SELECT count(*) FROM pg_replication_slots WHERE database = current_database() AND confirmed_flush_lsn IS NOT NULL") == 1);
            h.inMonolith("INSERT INTO tree VALUES (3, 2, 'twig')");
            h.awaitServiceMatchesMonolith("SELECT * FROM tree ORDER BY id", "SELECT id, up, name FROM tree ORDER BY id", Duration.ofSeconds(60));
        }
    }

    /**
     * Locks the progress row of a table's copy, in an open transaction of {@code holder}, once it says at least {@code rows} rows are
     * copied and the copy is not done (trying every few milliseconds; each try holds the copy up only for a moment).
     *
     * @return the rows copied when the lock was taken
     */
    private static long holdProgressRow(java.sql.Connection holder, String table, long rows, Duration atMost) {
        AtomicLong held = new AtomicLong();
        Awaitility.await("the copy's progress row saying " + rows + " rows are copied").atMost(atMost).pollInSameThread()
                .pollInterval(Duration.ofMillis(5)).until(() -> {
                    try (java.sql.Statement st = holder.createStatement();
                         java.sql.ResultSet rs = st.executeQuery("SELECT rows_copied FROM strangler_copy WHERE target_table = '" + table + "' AND NOT done FOR UPDATE")) {
                        if (rs.next() && rs.getLong(1) >= rows) {
                            held.set(rs.getLong(1));
                            return true;
                        }
                    } catch (java.sql.SQLException e) {
                        if (!"42P01".equals(e.getSQLState())) { // the writer has not created the table yet
                            throw e;
                        }
                    }
                    holder.rollback();
                    return false;
                });
        return held.get();
    }

    private static void workload(StranglerHarness h, AtomicBoolean running, AtomicLong transactions) {
        Random random = new Random(11);
        long nextId = 2_000_000;
        try (Connection c = h.postgres.connect(h.monolithDb)) {
            c.setAutoCommit(false);
            while (running.get()) {
                int dice = random.nextInt(10);
                long id = 1 + random.nextInt(ROWS);
                String sql = dice < 6 ? "UPDATE big SET rev = rev + 1, note = 'update ' || rev WHERE id = ?"
                        : dice < 8 ? "DELETE FROM big WHERE id = ?" : "INSERT INTO big VALUES (?, 0, 'new')";
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setLong(1, dice < 8 ? id : nextId++);
                    ps.executeUpdate();
                }
                c.commit();
                transactions.incrementAndGet();
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("workload failed", e);
        }
    }

    private static String awaitHealthAddress(Path log) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> Files.exists(log) && Files.readString(log).contains("health and metrics on"));
        try {
            return Files.readString(log).replaceAll("(?s).*dashboard on (http://[^/]+)/.*", "$1") + "/health";
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
