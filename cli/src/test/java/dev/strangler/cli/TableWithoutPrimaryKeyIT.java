package dev.strangler.cli;

import dev.strangler.core.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A monolith table without a primary key: refused with the two fixes; with {@code key:} and REPLICA IDENTITY FULL it syncs. */
class TableWithoutPrimaryKeyIT extends SandboxTestBase {

    private static final String ROWS = "SELECT account, day, amount FROM ledger ORDER BY account, day";
    private static final String SERVICE_ROWS = "SELECT account, day, amount FROM public.ledger ORDER BY account, day";

    @Test
    void aTableWithoutAKeyIsRefusedAndAConfiguredKeyWorks() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE ledger (account int NOT NULL, day date NOT NULL, amount numeric(12,2))");
            h.inMonolith("INSERT INTO ledger SELECT a, date '2026-01-01' + d, a * d FROM generate_series(1, 20) a, generate_series(0, 9) d");

            assertThatThrownBy(() -> h.startStrangler("- from: public.ledger"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("table public.ledger has no primary key")
                    .hasMessageContaining("ALTER TABLE public.ledger ADD PRIMARY KEY (...)")
                    .hasMessageContaining("key: [col, ...]");
            h.stopStrangler();

            assertThatThrownBy(() -> h.startStrangler("- {from: public.ledger, key: [account, dy]}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("column dy does not exist in public.ledger; did you mean day?")
                    .hasMessageContaining("ALTER TABLE public.ledger REPLICA IDENTITY FULL;");
            h.stopStrangler();

            h.inMonolith("ALTER TABLE ledger REPLICA IDENTITY FULL");
            h.startStrangler("- {from: public.ledger, key: [account, day]}");
            h.awaitServiceMatchesMonolith(ROWS, SERVICE_ROWS, Duration.ofSeconds(60));
            h.inMonolith("UPDATE ledger SET amount = -1 WHERE account = 3 AND day = date '2026-01-05'",
                    "DELETE FROM ledger WHERE account = 4",
                    "INSERT INTO ledger VALUES (99, date '2026-02-01', 1.50)");
            h.awaitServiceMatchesMonolith(ROWS, SERVICE_ROWS, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT count(*) FROM public.ledger")).containsExactly(java.util.List.of("191"));
            assertThat(h.serviceRows("SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_index i JOIN pg_attribute a "
                    + "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.ledger'::regclass AND i.indisprimary"))
                    .as("the service table is keyed by the configured columns").containsExactly(java.util.List.of("account,day"));
            // the validator matches rows by the configured key too
            CliResult validate = runCli("validate", "-c", h.writeConfig("- {from: public.ledger, key: [account, day]}").toString(),
                    "--table", "public.ledger");
            assertThat(validate.exitCode()).as(validate.stdout() + validate.stderr()).isZero();
            assertThat(validate.stdout()).contains("consistent");
        }
    }
}
