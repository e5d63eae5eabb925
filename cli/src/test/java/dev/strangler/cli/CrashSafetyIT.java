package dev.strangler.cli;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
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
 * Kills Strangler (a separate JVM, {@code destroyForcibly}) at random moments under a continuous
 * workload, restarts it, and checks that the service table ends equal to the monolith's, row for row,
 * and that no row version was applied twice (a trigger in the service database logs every write).
 */
class CrashSafetyIT extends SandboxTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(CrashSafetyIT.class);
    @Test
    void killedAtRandomMomentsItLosesNothingAndAppliesNothingTwice() throws Exception {
        long seed = System.nanoTime();
        LOG.info("crash test seed {}", seed);
        Random random = new Random(seed);
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text)",
                    "INSERT INTO accounts SELECT g, g / 100.0, 0, 'initial ' || g FROM generate_series(1, 2000) g");
            h.givenServiceWithApplyLog("accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text, strangler_version bigint)");
            Path config = h.writeConfig("- from: public.accounts");
            String query = "SELECT id, balance::text, rev, note FROM accounts ORDER BY id";

            Path logs = itLogs("random-kills-" + seed);
            Process strangler = startProcess(config, logs.resolve("run-1.log"));
            // the first kill comes after the initial copy: a snapshot cut short is taken again from the start
            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(90));

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            Thread workload = new Thread(() -> runWorkload(h, running, transactions, new Random(seed + 1)), "workload");
            workload.start();
            strangler = killTwiceUnderLoad(strangler, config, logs, random, transactions);
            running.set(false);
            workload.join();
            LOG.info("workload done: {} transactions", transactions.get());

            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(180));
            List<List<String>> doubled = h.serviceRows(
                    "SELECT id, rev, op, count(*) FROM apply_log WHERE op <> 'DELETE' GROUP BY id, rev, op HAVING count(*) > 1 ORDER BY id LIMIT 10");
            assertThat(doubled).as("row versions applied more than once (id, rev, op, times)").isEmpty();
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM apply_log WHERE rev > 0")).isGreaterThan(100);
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * Source transactions of 10,000 rows (an order and its items), with Strangler killed at a random
     * moment after each: a reader of the service database never sees an order without all its items,
     * and every transaction ends applied once, whole.
     */
    @Test
    void aTenThousandRowTransactionIsNeverSeenHalfAppliedAcrossKills() throws Exception {
        long seed = System.nanoTime();
        LOG.info("big transaction crash test seed {}", seed);
        Random random = new Random(seed);
        int items = 10_000;
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            String[] schema = {"CREATE TABLE orders (id bigint PRIMARY KEY, note text NOT NULL)",
                    "CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), line int NOT NULL, sku text NOT NULL, "
                            + "PRIMARY KEY (order_id, line))"};
            h.givenMonolith(schema);
            h.givenService(schema);
            h.givenMonolith("INSERT INTO orders VALUES (0, 'probe')");
            Path config = h.writeConfig("""
                    - from: public.orders
                    - from: public.order_items
                    """);
            Path logs = itLogs("big-transaction-" + seed);
            Process strangler = startProcess(config, logs.resolve("run-1.log"));
            String orders = "SELECT id, note FROM orders ORDER BY id";
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(90));

            AtomicBoolean reading = new AtomicBoolean(true);
            AtomicLong checks = new AtomicLong();
            List<String> partial = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread reader = new Thread(() -> {
                try (Connection c = h.postgres.connect(h.serviceDb); java.sql.Statement s = c.createStatement()) {
                    while (reading.get()) {
                        try (java.sql.ResultSet rs = s.executeQuery("SELECT o.id, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) "
                                + "FROM orders o WHERE o.id > 0")) {
                            while (rs.next()) {
                                if (rs.getLong(2) != items && partial.size() < 5) {
                                    partial.add("order " + rs.getLong(1) + " with " + rs.getLong(2) + " items");
                                }
                            }
                        }
                        checks.incrementAndGet();
                    }
                } catch (SQLException e) {
                    partial.add("reader failed: " + e.getMessage());
                }
            }, "big-transaction-reader");
            reader.start();
            int transactions = 3;
            for (int order = 1; order <= transactions; order++) {
                awaitLog(logs.resolve("run-" + order + ".log"), "writer svc resumes");
                h.inMonolith("BEGIN; INSERT INTO orders VALUES (" + order + ", 'big " + order + "'); "
                        + "INSERT INTO order_items SELECT " + order + ", g, 'sku-' || g FROM generate_series(1, " + items + ") g; COMMIT");
                // a deliberate random pause, not a wait for a condition: the transaction takes a second or two from
                // commit to the service, and the kill must land somewhere in that stretch
                Thread.sleep(200 + random.nextInt(1500));
                LOG.info("kill {} during or after the transaction of order {}", order, order);
                strangler.destroyForcibly().waitFor();
                strangler = startProcess(config, logs.resolve("run-" + (order + 1) + ".log"));
            }
            String lines = "SELECT order_id, count(*), min(line), max(line) FROM order_items GROUP BY order_id ORDER BY order_id";
            h.awaitServiceMatchesMonolith(lines, lines, Duration.ofSeconds(180));
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(10));
            reading.set(false);
            reader.join();
            assertThat(partial).as("orders a reader saw without all their items").isEmpty();
            assertThat(checks.get()).isGreaterThan(10);
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * With {@code bootstrap: embedded} the broker dies with the process: its log directory must carry
     * the topics, offsets and transactions over the crash, so that the restarted process continues.
     */
    @Test
    void withTheEmbeddedBrokerARestartAfterAKillContinuesWhereItStopped() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text)",
                    "INSERT INTO accounts SELECT g, g / 100.0, 0, 'initial ' || g FROM generate_series(1, 2000) g");
            Path config = h.writeEmbeddedBrokerConfig("- from: public.accounts");
            String query = "SELECT id, balance::text, rev, note FROM accounts ORDER BY id";
            Process strangler = startProcess(config, h.workDir.resolve("embedded-1.log"));
            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(90));

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            Thread workload = new Thread(() -> runWorkload(h, running, transactions, new Random(7)), "workload");
            workload.start();
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> transactions.get() > 2000);
            strangler.destroyForcibly().waitFor();
            long whileDown = transactions.get() + 500;
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> transactions.get() > whileDown);
            running.set(false);
            workload.join();

            strangler = startProcess(config, h.workDir.resolve("embedded-2.log"));
            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(120));
            String secondRun = java.nio.file.Files.readString(h.workDir.resolve("embedded-2.log"));
            assertThat(secondRun).as("the restarted writer resumes from its stored offsets, not from the start")
                    .containsPattern("writer svc resumes t\\d+\\.apply\\.svc at stored offsets \\{0=\\d+}");
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * Two-way traffic (the monolith writes its half of the keys, the service the other half, both insert
     * new rows), Strangler killed twice in the middle of it: afterwards both databases hold the same rows,
     * each key its writer's last values; no row version was applied twice in either database; and once
     * the traffic stops, nothing more is applied anywhere (no echo goes round).
     */
    @Test
    void twoWayTrafficKilledTwiceConvergesWithoutLossDoublesOrEchoes() throws Exception {
        long seed = System.nanoTime();
        LOG.info("two-way crash test seed {}", seed);
        Random random = new Random(seed);
        String logWrites = """
                CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF current_setting('application_name') LIKE 'strangler-writer-%' THEN
                    IF TG_OP = 'DELETE' THEN INSERT INTO write_log VALUES (OLD.id, OLD.rev, TG_OP);
                    ELSE INSERT INTO write_log VALUES (NEW.id, NEW.rev, TG_OP); END IF;
                  END IF;
                  RETURN NULL;
                END $$""";
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text)",
                    "INSERT INTO accounts SELECT g, g / 100.0, 0, 'initial ' || g FROM generate_series(1, 2000) g",
                    "CREATE TABLE write_log (id bigint, rev int, op text)", logWrites,
                    "CREATE TRIGGER log_write AFTER INSERT OR UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION log_write()");
            h.givenService("CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text, strangler_version bigint)",
                    "CREATE TABLE write_log (id bigint, rev int, op text)", logWrites,
                    "CREATE TRIGGER log_write AFTER INSERT OR UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION log_write()");
            Path config = h.writeConfig("- from: public.accounts\n  direction: two-way");
            String query = "SELECT id, balance::text, rev, note FROM accounts ORDER BY id";

            Path logs = itLogs("two-way-kills-" + seed);
            Process strangler = startProcess(config, logs.resolve("run-1.log"));
            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(90));
            awaitLog(logs.resolve("run-1.log"), "capture svc running");

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            Thread monolithSide = new Thread(() -> runWorkload(h, h.monolithDb, 1, 1000, 100_000, running, transactions, new Random(seed + 1)), "monolith-workload");
            Thread serviceSide = new Thread(() -> runWorkload(h, h.serviceDb, 1001, 2000, 2_000_000, running, transactions, new Random(seed + 2)), "service-workload");
            monolithSide.start();
            serviceSide.start();
            strangler = killTwiceUnderLoad(strangler, config, logs, random, transactions);
            running.set(false);
            monolithSide.join();
            serviceSide.join();
            LOG.info("workload done: {} transactions", transactions.get());

            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(180));
            for (String db : List.of(h.monolithDb, h.serviceDb)) {
                assertThat(h.rows(db, "SELECT id, rev, op, count(*) FROM write_log WHERE op <> 'DELETE' AND rev > 0 GROUP BY id, rev, op "
                        + "HAVING count(*) > 1 ORDER BY id LIMIT 10")).as("row versions applied more than once in " + db).isEmpty();
                assertThat(h.count(db, "SELECT count(*) FROM write_log WHERE rev > 0")).as("rows applied in " + db).isGreaterThan(100);
            }
            long monolithWrites = h.count(h.monolithDb, "SELECT count(*) FROM write_log");
            long serviceWrites = h.count(h.serviceDb, "SELECT count(*) FROM write_log");
            Awaitility.await().during(Duration.ofSeconds(10)).atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(h.count(h.monolithDb, "SELECT count(*) FROM write_log")).isEqualTo(monolithWrites);
                assertThat(h.count(h.serviceDb, "SELECT count(*) FROM write_log")).isEqualTo(serviceWrites);
            });
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * The initial copy done incrementally ({@code capture.snapshot: incremental}) of a 120,000-row table, killed
     * (kill -9) when the capture has read a third of it: the restarted capture resumes the copy from its last
     * stored chunk, and the service ends with every row, once. ({@code strangler snapshot} uses the same mechanism.)
     */
    @Test
    void anIncrementalInitialCopyKilledMidwayResumesWithoutGapsOrDoubles() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE big (id bigint PRIMARY KEY, rev int NOT NULL, note text)",
                    "INSERT INTO big SELECT g, 0, 'row ' || g FROM generate_series(1, 120000) g", "ANALYZE big");
            h.givenServiceWithApplyLog("big", "CREATE TABLE big (id bigint PRIMARY KEY, rev int NOT NULL, note text, strangler_version bigint)");
            Path logs = itLogs("incremental-copy-" + System.nanoTime());
            Path config = h.writeConfigText(h.config("- from: public.big").replace("capture:\n", "capture:\n  snapshot: incremental\n"));
            Process strangler = startProcess(config, logs.resolve("run-1.log"));
            String cdcTopic = h.topicPrefix() + ".cdc.monolith.public.big";
            h.inMonolith("UPDATE big SET rev = 1, note = 'changed during the copy' WHERE id % 1000 = 0");
            // /health shows the copy running, with its progress, rate and ETA
            awaitLog(logs.resolve("run-1.log"), "health and metrics on");
            String health = java.nio.file.Files.readString(logs.resolve("run-1.log"))
                    .replaceAll("(?s).*dashboard on (http://[^/]+)/.*", "$1") + "/health";
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).ignoreExceptions().untilAsserted(() -> {
                com.fasterxml.jackson.databind.JsonNode copy = dev.strangler.core.Json.mapper().readTree(
                        java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(health)).build(),
                                java.net.http.HttpResponse.BodyHandlers.ofString()).body()).path("copy");
                assertThat(copy.path("state").asText()).isEqualTo("running");
                assertThat(copy.path("rowsEstimated").asLong()).isEqualTo(120_000);
                assertThat(copy.path("rowsScanned").asLong()).isPositive();
                assertThat(copy.path("rowsPerSecond").asLong()).isPositive();
                assertThat(copy.has("etaSeconds")).isTrue();
            });
            Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
                    .until(() -> endOffset(cdcTopic) > 40_000);
            strangler.destroyForcibly().waitFor();
            long copiedBeforeKill = h.count(h.serviceDb, "SELECT count(*) FROM big");
            long capturedBeforeKill = endOffset(cdcTopic);
            LOG.info("killed with {} of 120,000 rows copied, {} events captured", copiedBeforeKill, capturedBeforeKill);
            assertThat(capturedBeforeKill).as("the kill lands in the middle of the capture's copy").isLessThan(110_000);
            h.inMonolith("UPDATE big SET rev = 2, note = 'changed while down' WHERE id % 1000 = 1", "DELETE FROM big WHERE id > 119990");

            strangler = startProcess(config, logs.resolve("run-2.log"));
            String rows = "SELECT id, rev, note FROM big ORDER BY id";
            h.awaitServiceMatchesMonolith(rows, rows, Duration.ofSeconds(180));
            assertThat(h.serviceRows("SELECT id, rev, op, count(*) FROM apply_log WHERE op = 'INSERT' GROUP BY id, rev, op "
                    + "HAVING count(*) > 1 ORDER BY id LIMIT 10")).as("rows inserted twice (id, rev, op, times)").isEmpty();
            // resumed, not started again: what the restarted capture read is the rest of the table (from the last
            // chunk whose offsets were stored, about a second before the kill) and 250 changes, not all 119,990 rows again
            long capturedAfterRestart = endOffset(cdcTopic) - capturedBeforeKill;
            LOG.info("{} events captured after the restart", capturedAfterRestart);
            assertThat(capturedAfterRestart).isLessThan(112_000);
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * Kills Strangler twice, each time after a random 2-6 s of workload, restarting it; returns once the workload
     * has committed 300 more transactions with the last process running.
     */
    private static Process killTwiceUnderLoad(Process strangler, Path config, Path logs, Random random, AtomicLong transactions) throws Exception {
        for (int kill = 1; kill <= 2; kill++) {
            long before = transactions.get();
            long waitMillis = 2000 + random.nextInt(4000);
            Awaitility.await().pollDelay(Duration.ofMillis(waitMillis)).atMost(Duration.ofSeconds(30))
                    .until(() -> transactions.get() > before);
            LOG.info("kill {} after {} workload transactions", kill, transactions.get());
            strangler.destroyForcibly().waitFor();
            strangler = startProcess(config, logs.resolve("run-" + (kill + 1) + ".log"));
        }
        long stopAt = transactions.get() + 300;
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> transactions.get() > stopAt);
        return strangler;
    }

    private static void runWorkload(StranglerHarness h, AtomicBoolean running, AtomicLong transactions, Random random) {
        runWorkload(h, h.monolithDb, 1, 2000, 100_000, running, transactions, random);
    }

    /** Updates keys [from, to], inserts from {@code nextId}, deletes in [from, to], in small transactions. */
    private static void runWorkload(StranglerHarness h, String database, int from, int to, long firstNewId, AtomicBoolean running,
                                    AtomicLong transactions, Random random) {
        try (Connection c = h.postgres.connect(database)) {
            runWorkload(c, "DELETE FROM accounts WHERE id = (SELECT id FROM accounts WHERE id > ? AND id <= ? ORDER BY id LIMIT 1)",
                    from, to, firstNewId, running, transactions, random);
        } catch (SQLException e) {
            throw new IllegalStateException("workload failed", e);
        }
    }

    /**
     * The workload on {@code accounts (id, balance, rev, note)} of any database: transactions of 1-5 statements,
     * updates raising a row's rev, inserts from {@code firstNewId}, deletes of one row in a range
     * ({@code deleteOne} has the range's two bounds as parameters).
     */
    static void runWorkload(Connection c, String deleteOne, int from, int to, long firstNewId, AtomicBoolean running,
                            AtomicLong transactions, Random random) throws SQLException {
        long nextId = firstNewId;
        c.setAutoCommit(false);
        while (running.get()) {
            int ops = 1 + random.nextInt(5);
            for (int i = 0; i < ops; i++) {
                int dice = random.nextInt(10);
                if (dice < 6) {
                    try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET rev = rev + 1, balance = ?, note = ? WHERE id = ?")) {
                        ps.setBigDecimal(1, java.math.BigDecimal.valueOf(random.nextInt(1_000_000), 2));
                        ps.setString(2, "update " + transactions.get());
                        ps.setLong(3, from + random.nextInt(to - from + 1));
                        ps.executeUpdate();
                    }
                } else if (dice < 8) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts VALUES (?, 0, 0, 'new')")) {
                        ps.setLong(1, nextId++);
                        ps.executeUpdate();
                    }
                } else {
                    try (PreparedStatement ps = c.prepareStatement(deleteOne)) {
                        ps.setLong(1, from - 1 + random.nextInt(to - from + 1));
                        ps.setLong(2, to);
                        ps.executeUpdate();
                    }
                }
            }
            c.commit();
            transactions.incrementAndGet();
            // a steady load (about 3,000 transactions/s), not a flood: the test is about crashes
            java.util.concurrent.locks.LockSupport.parkNanos(300_000);
        }
    }

    /** How many records a one-partition topic of the test broker holds. */
    static long endOffset(String topic) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                java.util.Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            org.apache.kafka.common.TopicPartition partition = new org.apache.kafka.common.TopicPartition(topic, 0);
            return admin.listOffsets(java.util.Map.of(partition, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                    .partitionResult(partition).get().offset();
        }
    }

    /** Waits until a child's log has a line containing {@code text}. */
    private static void awaitLog(Path log, String text) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> java.nio.file.Files.exists(log) && java.nio.file.Files.readString(log).contains(text));
    }

    /** Child logs stay under target/it-logs, for reading after a failure. */
    private static Path itLogs(String name) throws java.io.IOException {
        return java.nio.file.Files.createDirectories(Path.of("target", "it-logs", name).toAbsolutePath());
    }

    static Process startProcess(Path config, Path log) throws Exception {
        Path cli = Path.of("").toAbsolutePath();
        String classpath = cli.resolve("target/strangler-cli-0.1.0-SNAPSHOT.jar") + File.pathSeparator + cli.resolve("target/lib") + File.separator + "*";
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx1g", "-cp", classpath, Main.class.getName(), "run", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
