package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.Json;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code strangler validate} against a running pipeline: consistent while replication keeps up with a
 * live workload; drift made behind Strangler's back (in the service database) reported with its keys,
 * and nothing else; exit codes 0, 1 and 2.
 */
class ValidateCommandIT extends SandboxTestBase {

    @Test
    void driftIsReportedWithItsKeysWhileChangesInFlightAreNot() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric(12,2), updated timestamptz)",
                    "INSERT INTO accounts SELECT g, 'owner ' || g, g, timestamptz '2024-01-01' FROM generate_series(1, 20000) g");
            String tables = "- from: public.accounts\n";
            Path config = h.writeConfig(tables, "validator:\n  segmentRows: 2000\n  recheckAfter: 2s\n");
            h.startStrangler(tables);
            String query = "SELECT id, owner, balance::text FROM accounts ORDER BY id";
            h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(90));

            AtomicBoolean running = new AtomicBoolean(true);
            Thread workload = new Thread(() -> {
                Random random = new Random(3);
                try (Connection c = postgres.connect(h.monolithDb);
                     PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = balance + 1, updated = now() WHERE id = ?")) {
                    while (running.get()) {
                        ps.setLong(1, 1000 + random.nextInt(19_000));
                        ps.executeUpdate();
                        java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);  // a steady trickle of changes
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "validate-workload");
            workload.start();
            try {
                CliResult clean = runCli("validate", "--config", config.toString(), "--json");
                assertThat(clean.exitCode()).as(clean.stderr() + clean.stdout()).isZero();
                JsonNode report = Json.mapper().readTree(clean.stdout());
                assertThat(report.get("consistent").asBoolean()).isTrue();
                assertThat(report.get("tables").get(0).get("sourceRows").asLong()).isEqualTo(20_000);

                // drift behind Strangler's back, in rows the workload does not touch
                h.givenService("DELETE FROM accounts WHERE id = 17", "UPDATE accounts SET owner = 'mallory' WHERE id = 42",
                        "INSERT INTO accounts VALUES (99999, 'ghost', 0, now(), 1)");
                CliResult drift = runCli("validate", "--config", config.toString(), "--table", "public.accounts", "--json");
                assertThat(drift.exitCode()).as(drift.stderr()).isEqualTo(1);
                JsonNode table = Json.mapper().readTree(drift.stdout()).get("tables").get(0);
                List<String> found = new ArrayList<>();
                table.get("sample").forEach(d -> found.add(d.get("kind").asText() + " " + d.get("key").get("id").asText()
                        + (d.has("columns") ? " " + d.get("columns") : "")));
                assertThat(found).containsExactlyInAnyOrder("missing 17", "different 42 [\"owner\"]", "extra 99999");
                assertThat(table.get("missing").asLong() + table.get("extra").asLong() + table.get("different").asLong()).isEqualTo(3);

                CliResult text = runCli("validate", "--config", config.toString());
                assertThat(text.exitCode()).isEqualTo(1);
                assertThat(text.stdout()).contains("svc/public.accounts", "missing {id=17}", "drift: 3 rows");

                CliResult migration = runCli("report", "--config", config.toString());
                assertThat(migration.exitCode()).as(migration.stderr()).isZero();
                JsonNode row = Json.mapper().readTree(migration.stdout()).get("tables").get(0);
                assertThat(row.get("table").asText()).isEqualTo("public.accounts");
                assertThat(row.get("consistent").asBoolean()).isFalse();
                assertThat(row.get("drifted").asLong()).isEqualTo(3);
                assertThat(row.get("monolithRows").asLong()).isEqualTo(20_000);
                assertThat(row.get("deadLetters").asLong()).isZero();
                Path html = h.workDir.resolve("report.html");
                assertThat(runCli("report", "--config", config.toString(), "--format", "html", "--output", html.toString()).exitCode()).isZero();
                assertThat(java.nio.file.Files.readString(html)).contains("<td>public.accounts</td>", "DRIFT", "missing {&quot;id&quot;:&quot;17&quot;}");
            } finally {
                running.set(false);
                workload.join();
            }

            CliResult unknown = runCli("validate", "--config", config.toString(), "--table", "public.nope");
            assertThat(unknown.exitCode()).isEqualTo(2);
            assertThat(unknown.stderr()).contains("--table public.nope matches no route");
        }
    }

    @Test
    void repairReappliesTheMonolithsRowsThroughTheApplyPathAndTheNextPassIsClean() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric(12,2), tags text[], photo bytea)",
                    "INSERT INTO accounts SELECT g, 'owner ' || g, g, ARRAY['a', 'b'], '\\x0102'::bytea FROM generate_series(1, 3000) g");
            String tables = "- {from: public.accounts, columns: {owner: holder}}\n";
            Path config = h.writeConfig(tables, "validator:\n  recheckAfter: 500ms\n");
            h.startStrangler(tables);
            String source = "SELECT id, owner, balance::text, tags::text, encode(photo, 'hex') FROM accounts ORDER BY id";
            String target = "SELECT id, holder, balance::text, tags::text, encode(photo, 'hex') FROM accounts ORDER BY id";
            h.awaitServiceMatchesMonolith(source, target, Duration.ofSeconds(90));
            h.givenService("DELETE FROM accounts WHERE id = 7", "UPDATE accounts SET holder = 'mallory', photo = NULL WHERE id = 8",
                    "INSERT INTO accounts VALUES (99999, 'ghost', 0, NULL, NULL, 1)");

            CliResult dry = runCli("repair", "--config", config.toString(), "--table", "public.accounts", "--dry-run");
            assertThat(dry.exitCode()).as(dry.stderr()).isZero();
            assertThat(dry.stdout()).contains("would upsert public.accounts {\"id\":\"7\"} (missing)",
                    "would upsert public.accounts {\"id\":\"8\"} (different: holder, photo)",
                    "would delete public.accounts {\"id\":\"99999\"} (extra)", "dry run: 3 drifted keys, nothing changed");
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM accounts WHERE id = 99999")).isEqualTo(1);

            CliResult repair = runCli("repair", "--config", config.toString(), "--table", "svc/public.accounts");
            assertThat(repair.exitCode()).as(repair.stderr()).isZero();
            assertThat(repair.stdout()).contains("queued 3 repairs on " + h.prefix + ".apply.svc");
            h.awaitServiceMatchesMonolith(source, target, Duration.ofSeconds(30));
            CliResult after = runCli("validate", "--config", config.toString());
            assertThat(after.exitCode()).as(after.stdout()).isZero();

            // a live change made after the repair was read still wins: versions order them
            h.inMonolith("UPDATE accounts SET owner = 'live' WHERE id = 8");
            h.awaitServiceMatchesMonolith(source, target, Duration.ofSeconds(30));
            CliResult nothing = runCli("repair", "--config", config.toString(), "--table", "public.accounts");
            assertThat(nothing.stdout()).contains("is consistent (3,000 rows); nothing to repair");
        }
    }
}
