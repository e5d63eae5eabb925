package dev.strangler.cli;

import dev.strangler.sandbox.BinlogDatabase;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A MariaDB or MySQL monolith under a steady workload of multi-statement transactions, Strangler killed (kill -9)
 * twice and restarted: both services, one PostgreSQL and one of the monolith's engine, end equal row for row, no
 * row version applied twice in either (a trigger logs every write that changes a row), and a bad binary-log
 * setting is refused at start with the fix. Run against MariaDB ({@link MariaDbCrashIT}) and MySQL
 * ({@link MySqlCrashIT}).
 */
abstract class BinlogCrashIT extends SandboxTestBase {

    /** A started server of the engine under test. */
    abstract BinlogDatabase startServer();

    @Test
    void killedTwiceUnderLoadItLosesNothingAndAppliesNothingTwice() throws Exception {
        try (BinlogDatabase server = startServer(); StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            server.createDatabase("bank");
            server.execute("bank", "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance DECIMAL(12,2) NOT NULL, rev INT NOT NULL, note VARCHAR(100))");
            StringBuilder rows = new StringBuilder("INSERT INTO accounts VALUES ");
            for (int i = 1; i <= 1000; i++) {
                rows.append(i == 1 ? "" : ",").append("(").append(i).append(", ").append(i).append(".00, 0, 'initial')");
            }
            server.execute("bank", rows.toString());
            h.givenServiceWithApplyLog("accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text, strangler_version bigint)");
            // the second service: MariaDB, its table made by hand with a trigger that logs every write that changes a row
            // (a replayed upsert that the version guard turns into a no-op changes nothing and is not logged)
            server.createDatabase("ledger");
            server.execute("ledger", "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance DECIMAL(12,2) NOT NULL, rev INT NOT NULL, "
                            + "note VARCHAR(100), strangler_version BIGINT)",
                    "CREATE TABLE apply_log (id BIGINT, rev INT, op VARCHAR(10))",
                    "CREATE TRIGGER log_insert AFTER INSERT ON accounts FOR EACH ROW INSERT INTO apply_log VALUES (NEW.id, NEW.rev, 'INSERT')",
                    "CREATE TRIGGER log_update AFTER UPDATE ON accounts FOR EACH ROW IF NOT (NEW.strangler_version <=> OLD.strangler_version) "
                            + "THEN INSERT INTO apply_log VALUES (NEW.id, NEW.rev, 'UPDATE'); END IF",
                    "CREATE TRIGGER log_delete AFTER DELETE ON accounts FOR EACH ROW INSERT INTO apply_log VALUES (OLD.id, OLD.rev, 'DELETE')");
            // the initial copy as a Debezium incremental snapshot, signalled through bank.strangler_signal
            String yaml = h.config("- {from: bank.accounts, to: public.accounts}").replace("capture:\n", "capture:\n  snapshot: incremental\n")
                    .replace("  url: " + postgres.jdbcUrl(h.monolithDb) + "\n  user: postgres\n  password: postgres",
                            "  type: " + server.type() + "\n  url: " + server.jdbcUrl("bank") + "\n  user: " + server.user()
                                    + "\n  password: " + server.password())
                    + "  ledger:\n    type: " + server.type() + "\n    url: " + server.jdbcUrl("ledger") + "\n    user: " + server.user()
                    + "\n    password: " + server.password() + "\n    tables:\n      - {from: bank.accounts, to: ledger.accounts}\n";
            Path config = h.writeConfigText(yaml);

            // a bad binlog setting is refused, saying how to fix it
            server.execute("bank", "SET GLOBAL binlog_format = 'STATEMENT'");
            CliResult refused = runCli("doctor", "-c", config.toString());
            assertThat(refused.exitCode()).isEqualTo(Main.EXIT_FAILED);
            assertThat(refused.stdout()).contains("binlog_format is STATEMENT, capture needs ROW", "SET GLOBAL binlog_format = 'ROW'");
            server.execute("bank", "SET GLOBAL binlog_format = 'ROW'");

            Path logs = java.nio.file.Files.createDirectories(Path.of("target", "it-logs", server.type() + "-kills-" + System.nanoTime()).toAbsolutePath());
            Process strangler = CrashSafetyIT.startProcess(config, logs.resolve("run-1.log"));
            String query = "SELECT id, balance::text, rev, note FROM accounts ORDER BY id";
            awaitEqual(h, server, Duration.ofSeconds(90));

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            Thread workload = new Thread(() -> {
                try (Connection c = server.connect("bank")) {
                    CrashSafetyIT.runWorkload(c, "DELETE FROM accounts WHERE id > ? AND id <= ? ORDER BY id LIMIT 1", 1, 1000, 100_000,
                            running, transactions, new Random(5));
                } catch (SQLException e) {
                    throw new IllegalStateException("workload failed", e);
                }
            }, "binlog-workload");
            workload.start();
            Random random = new Random(9);
            for (int kill = 1; kill <= 2; kill++) {
                long before = transactions.get();
                Awaitility.await().pollDelay(Duration.ofMillis(1500 + random.nextInt(2500))).atMost(Duration.ofSeconds(30))
                        .until(() -> transactions.get() > before);
                strangler.destroyForcibly().waitFor();
                strangler = CrashSafetyIT.startProcess(config, logs.resolve("run-" + (kill + 1) + ".log"));
            }
            long stopAt = transactions.get() + 200;
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> transactions.get() > stopAt);
            running.set(false);
            workload.join();

            awaitEqual(h, server, Duration.ofSeconds(120));
            String twice = "SELECT id, rev, op, count(*) FROM apply_log WHERE op <> 'DELETE' AND rev > 0 GROUP BY id, rev, op "
                    + "HAVING count(*) > 1 ORDER BY id LIMIT 10";
            try (Connection ledger = server.connect("ledger")) {
                assertThat(StranglerHarness.rows(ledger, twice)).as("row versions applied more than once in MariaDB (id, rev, op, times)").isEmpty();
                assertThat(StranglerHarness.rows(ledger, "SELECT count(*) FROM apply_log WHERE rev > 0").get(0).get(0)).isNotEqualTo("0");
            }
            assertThat(h.serviceRows("SELECT id, rev, op, count(*) FROM apply_log WHERE op <> 'DELETE' AND rev > 0 GROUP BY id, rev, op "
                    + "HAVING count(*) > 1 ORDER BY id LIMIT 10")).as("row versions applied more than once (id, rev, op, times)").isEmpty();
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM apply_log WHERE rev > 0")).isGreaterThan(100);

            // strangler snapshot copies the table again through the running capture: every row read once more, nothing changed
            String cdcTopic = h.topicPrefix() + ".cdc.monolith.bank.accounts";
            long before = CrashSafetyIT.endOffset(cdcTopic);
            long rowsNow;
            try (Connection bank = server.connect("bank")) {
                rowsNow = Long.parseLong(StranglerHarness.rows(bank, "SELECT count(*) FROM accounts").get(0).get(0));
            }
            CliResult snapshot = runCli("snapshot", "--table", "bank.accounts", "-c", config.toString());
            assertThat(snapshot.exitCode()).as(snapshot.stderr()).isZero();
            assertThat(snapshot.stdout()).contains("in bank.strangler_signal");
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> CrashSafetyIT.endOffset(cdcTopic) >= before + rowsNow);
            awaitEqual(h, server, Duration.ofSeconds(60));
            strangler.destroy();
            assertThat(strangler.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    private static void awaitEqual(StranglerHarness h, BinlogDatabase server, Duration timeout) {
        Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
            List<List<String>> source = new ArrayList<>();
            try (Connection c = server.connect("bank"); Statement s = c.createStatement();
                 var rs = s.executeQuery("SELECT id, CAST(balance AS CHAR), rev, note FROM accounts ORDER BY id")) {
                while (rs.next()) {
                    source.add(java.util.Arrays.asList(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
                }
            }
            assertThat(h.serviceRows("SELECT id, balance::text, rev, note FROM accounts ORDER BY id")).containsExactlyElementsOf(source);
            try (Connection ledger = server.connect("ledger")) {
                assertThat(StranglerHarness.rows(ledger, "SELECT id, CAST(balance AS CHAR), rev, note FROM accounts ORDER BY id"))
                        .as("the MariaDB service").containsExactlyElementsOf(source);
            }
        });
    }
}
