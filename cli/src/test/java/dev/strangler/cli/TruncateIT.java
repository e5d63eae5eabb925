package dev.strangler.cli;

import dev.strangler.core.ComponentState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A TRUNCATE in the monolith, per table: carried (the default), ignored, or a stop. */
class TruncateIT extends SandboxTestBase {

    private static final String SCHEMA = """
            CREATE TABLE orders (id bigint PRIMARY KEY, customer text);
            CREATE TABLE order_lines (order_id bigint REFERENCES orders, line int, qty int, PRIMARY KEY (order_id, line));
            CREATE TABLE payments (id bigint, paid date NOT NULL, amount numeric(8,2), PRIMARY KEY (id, paid)) PARTITION BY RANGE (paid);
            CREATE TABLE payments_2024 PARTITION OF payments FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE payments_2025 PARTITION OF payments FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            CREATE TABLE audit (id bigint PRIMARY KEY, what text)""";
    private static final String TABLES = """
            - from: public.orders
            - from: public.order_lines
            - from: public.payments
            - from: public.audit
              onTruncate: ignore""";

    private static final List<String> QUERIES = List.of("SELECT id, customer FROM orders ORDER BY 1",
            "SELECT order_id, line, qty FROM order_lines ORDER BY 1, 2", "SELECT id, paid, amount FROM payments ORDER BY 1, 2",
            "SELECT id, what FROM audit ORDER BY 1");

    @Test
    void aTruncateEmptiesTheServiceTablesInOrderWithTheOtherChangesAndAnIgnoredOneKeepsItsRows() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(SCHEMA.split(";"));
            h.givenMonolith("INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 100) g",
                    "INSERT INTO order_lines SELECT g, l, l FROM generate_series(1, 100) g, generate_series(1, 3) l",
                    "INSERT INTO payments SELECT g, DATE '2024-06-01' + g, g FROM generate_series(1, 400) g",
                    "INSERT INTO audit SELECT g, 'kept' FROM generate_series(1, 10) g");
            h.startStrangler(TABLES);
            for (String query : QUERIES) {
                h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(60));
            }
            TwoWaySyncIT.awaitCaptureRunning(h);

            // one transaction: a truncate between changes, so order matters; then more changes after it
            h.inMonolith("BEGIN; UPDATE orders SET customer = 'gone' WHERE id = 1; TRUNCATE orders, order_lines; "
                            + "INSERT INTO orders VALUES (1000, 'after'); INSERT INTO order_lines VALUES (1000, 1, 7); COMMIT",
                    "TRUNCATE payments",
                    "INSERT INTO payments VALUES (5000, DATE '2025-03-01', 1.50)",
                    "TRUNCATE audit");
            for (String query : QUERIES.subList(0, 3)) {
                h.awaitServiceMatchesMonolith(query, query, Duration.ofSeconds(60));
            }
            assertThat(h.serviceRows("SELECT id, customer FROM orders")).containsExactly(List.of("1000", "after"));
            assertThat(h.serviceRows("SELECT count(*) FROM payments")).containsExactly(List.of("1"));
            // onTruncate: ignore keeps the service's rows (the validator reports them as extra)
            assertThat(h.serviceRows("SELECT count(*) FROM audit")).containsExactly(List.of("10"));
        }
    }

    @Test
    void withOnTruncateStopTheSyncEngineStopsNamingTheTableAndNothingIsDeleted() {
        String tables = """
                - from: public.audit
                  onTruncate: stop""";
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE audit (id bigint PRIMARY KEY, what text)", "INSERT INTO audit SELECT g, 'x' FROM generate_series(1, 5) g");
            h.startStrangler(tables);
            h.awaitServiceMatchesMonolith("SELECT * FROM audit ORDER BY 1", "SELECT id, what FROM audit ORDER BY 1", Duration.ofSeconds(60));
            TwoWaySyncIT.awaitCaptureRunning(h);
            h.inMonolith("TRUNCATE audit");
            var engine = h.pipeline().components().stream().filter(c -> c.name().equals("sync-engine")).findFirst().orElseThrow();
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> engine.state() == ComponentState.FAILED);
            assertThat(engine.failure().orElseThrow()).contains("TRUNCATE of public.audit", "onTruncate is stop", "carry", "ignore");
            assertThat(h.serviceRows("SELECT count(*) FROM audit")).containsExactly(List.of("5"));
        }
    }
}
