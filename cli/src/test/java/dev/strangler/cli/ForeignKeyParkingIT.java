package dev.strangler.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rows that reach the service before the row they refer to are parked in the service database and
 * applied once their parent arrives; a parent that never arrives sends them to the dead-letter topic
 * after {@code writer.parkTimeout}. Here the service is stricter than the monolith (it has the foreign
 * key, the monolith does not), so the monolith can commit items before their order.
 */
class ForeignKeyParkingIT extends SandboxTestBase {

    @Test
    void itemsCommittedBeforeTheirOrderWaitParkedUntilItArrivesOrTheTimeoutSendsThemToTheDeadLetterTopic() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                    "CREATE TABLE items (order_id int NOT NULL, line int NOT NULL, PRIMARY KEY (order_id, line))");
            h.givenService("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                    "CREATE TABLE items (order_id int NOT NULL REFERENCES orders(id), line int NOT NULL, PRIMARY KEY (order_id, line))");
            h.startStrangler("""
                    - from: public.orders
                    - from: public.items
                    """, """
                    writer:
                      parkTimeout: 3s
                    """);
            h.inMonolith("INSERT INTO orders VALUES (0, 'probe')");
            String orders = "SELECT id, note FROM orders ORDER BY 1";
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(60));

            h.inMonolith("INSERT INTO items SELECT o, l FROM generate_series(1, 100) o, generate_series(1, 3) l");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked") == 300);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM items")).isZero();
            assertThat(h.metrics.get("strangler.writer.parked.now").gauge().value()).isEqualTo(300.0);

            h.inMonolith("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 100) g");
            String items = "SELECT order_id, line FROM items ORDER BY 1, 2";
            h.awaitServiceMatchesMonolith(items, items, Duration.ofSeconds(30));
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(5));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).isZero();
            assertThat(h.metrics.get("strangler.writer.parked").counter().count()).isEqualTo(300.0);

            // an item whose order never comes: parked, then a dead letter that names the missing parent
            h.inMonolith("INSERT INTO items VALUES (999, 1)");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
                    h.metrics.find("strangler.dead.letters").counters().stream().mapToDouble(c -> c.count()).sum() == 1.0);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).isZero();
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM items WHERE order_id = 999")).isZero();
            assertThat(h.metrics.get("strangler.writer.parked.now").gauge().value()).isZero();
        }
    }

    @Test
    void aParkedRowUpdatedWithoutItsToastValueKeepsThatValueWhenItIsApplied() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                    "CREATE TABLE items (order_id int NOT NULL, line int NOT NULL, qty int, doc text, PRIMARY KEY (order_id, line))");
            h.givenService("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                    "CREATE TABLE items (order_id int NOT NULL REFERENCES orders(id), line int NOT NULL, qty int, doc text, PRIMARY KEY (order_id, line))");
            h.startStrangler("""
                    - from: public.orders
                    - from: public.items
                    """);
            h.inMonolith("INSERT INTO orders VALUES (0, 'probe')");
            String orders = "SELECT id, note FROM orders ORDER BY 1";
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(60));

            // ~1 MB that does not compress: stored out of line (TOAST), so the update below does not send it
            h.inMonolith("INSERT INTO items SELECT 500, 1, 1, string_agg(md5(g::text), '') FROM generate_series(1, 30000) g");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked") == 1);
            h.inMonolith("UPDATE items SET qty = 2 WHERE order_id = 500");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb,
                    "SELECT count(*) FROM strangler_parked WHERE convert_from(record, 'UTF8') ~ '\"qty\":\"?2\"?[,}]'") == 1);

            h.inMonolith("INSERT INTO orders VALUES (500, 'late')");
            String items = "SELECT order_id, line, qty, md5(doc), length(doc) FROM items ORDER BY 1, 2";
            h.awaitServiceMatchesMonolith(items, items, Duration.ofSeconds(30));
            assertThat(h.count(h.serviceDb, "SELECT length(doc) FROM items WHERE order_id = 500")).isEqualTo(960_000);
        }
    }
}
