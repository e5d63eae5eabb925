package dev.strangler.cli;

import dev.strangler.core.Mask;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A table carried with derived columns, casts, masks and row rules, end to end: the service receives the
 * transformed rows, rule breakers become dead letters naming the rule, {@code strangler preview} shows the
 * same without writing, the validator proves the transformed table consistent (the transforms pushed into
 * the monolith's SQL) and finds a deliberate drift in a derived column, and masks stay stable across a restart.
 */
class TransformIT extends SandboxTestBase {

    private static final String KEY = "transform-it-key-0123456789abcdef";

    @Test
    void aTransformedTableIsCarriedPreviewedAndProvenConsistent() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE customers (id bigint PRIMARY KEY, first_name text, last_name text NOT NULL, email text, "
                            + "phone text, age int, total numeric(12,3), nickname text)",
                    "INSERT INTO customers SELECT g, 'First' || g, 'Last' || g, 'user' || g || '@example.com', '+44 20 7946 ' || lpad(g::text, 4, '0'), "
                            + "20 + g % 50, g * 1.005, 'nick' || g FROM generate_series(1, 200) g",
                    "UPDATE customers SET first_name = 'Ada', last_name = 'Lovelace' WHERE id = 1",
                    "UPDATE customers SET email = NULL WHERE id = 7",
                    "UPDATE customers SET age = -1 WHERE id = 8");
            h.givenService("CREATE TABLE customers (id bigint PRIMARY KEY, first_name text, last_name text NOT NULL, email text, phone text, "
                    + "age int, total numeric(10,1), nickname text, full_name text, total_cents bigint, strangler_version bigint)");
            String tables = """
                    - from: public.customers
                      derive:
                        full_name: "coalesce(first_name || ' ', '') || upper(last_name)"
                        total_cents: "round(total * 100)"
                      cast: {total: "numeric(10,1)"}
                      mask: {email: hash, phone: "partial(keep-last=4)", nickname: "fake(name)"}
                      rules: ["email is not null", "age >= 0"]
                    """;
            String yaml = h.config(tables).replace("sync:\n", "sync:\n  maskKey: " + KEY + "\n");
            Path config = h.writeConfigText(yaml);

            CliResult preview = runCli("preview", "--table", "public.customers", "--limit", "8", "-c", config.toString());
            assertThat(preview.exitCode()).as(preview.stderr()).isZero();
            assertThat(preview.stdout()).contains("\"full_name\":\"Ada LOVELACE\"", "\"total_cents\":\"101\"", "\"phone\":\"************0001\"",
                    "REJECTED by rule 'email is not null'", "REJECTED by rule 'age >= 0'", "8 rows shown, 2 rejected; nothing was written");
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM customers")).as("preview writes nothing").isZero();

            h.startStranglerWith(yaml);
            Awaitility.await().atMost(Duration.ofSeconds(90)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM customers") == 198);
            byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
            assertThat(h.serviceRows("SELECT full_name, total::text, total_cents, email, phone, nickname <> 'nick1' FROM customers WHERE id = 1"))
                    .containsExactly(List.of("Ada LOVELACE", "1.0", "101", Mask.hmacHex(key, "user1@example.com"), "************0001", "t"));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM customers WHERE id IN (7, 8)")).as("rule breakers are not carried").isZero();

            CliResult letters = runCli("dlq", "list", "-c", config.toString());
            assertThat(letters.stdout()).contains("breaks rule 'email is not null'", "breaks rule 'age >= 0'");

            CliResult consistent = runCli("validate", "--table", "public.customers", "-c", config.toString());
            assertThat(consistent.exitCode()).as(consistent.stdout() + consistent.stderr()).isEqualTo(Main.EXIT_FAILED);
            assertThat(consistent.stdout()).as("only the two rejected rows differ").contains("drift: 2 rows");

            h.inMonolith("DELETE FROM customers WHERE id IN (7, 8)");
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                CliResult again = runCli("validate", "--table", "public.customers", "-c", config.toString());
                assertThat(again.exitCode()).as(again.stdout() + again.stderr()).isZero();
            });

            h.givenService("UPDATE customers SET full_name = 'tampered' WHERE id = 3");
            CliResult drift = runCli("validate", "--table", "public.customers", "-c", config.toString(), "--json");
            assertThat(drift.exitCode()).isEqualTo(Main.EXIT_FAILED);
            assertThat(drift.stdout()).contains("full_name").contains("\"different\" : 1");

            // masks are stable across a restart with the same key
            h.stopStrangler();
            h.startStranglerWith(yaml);
            h.inMonolith("UPDATE customers SET email = 'user1@example.com', age = 99 WHERE id = 2");
            Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(h.serviceRows("SELECT email FROM customers WHERE id = 2"))
                            .containsExactly(List.of(Mask.hmacHex(key, "user1@example.com"))));
            assertThat(h.serviceRows("SELECT count(DISTINCT email) FROM customers WHERE id IN (1, 2)")).containsExactly(List.of("1"));
        }
    }
}
