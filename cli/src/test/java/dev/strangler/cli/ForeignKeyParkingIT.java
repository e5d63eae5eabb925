package dev.strangler.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rows that reach the service before the row they refer to (the initial copy goes table by table, in
 * name order; per-row tables are not ordered across tables) are parked and applied once their parent
 * arrives; a parent that never arrives sends its children to the dead-letter topic after the park timeout.
 */
class ForeignKeyParkingIT extends SandboxTestBase {

    @Test
    void childrenCopiedBeforeTheirParentsArriveOnceTheParentsDo() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            // "a_items" sorts before "b_orders": the initial copy sends every item before its order
            String[] schema = {"CREATE TABLE b_orders (id int PRIMARY KEY, note text)",
                    "CREATE TABLE a_items (order_id int NOT NULL REFERENCES b_orders(id), line int NOT NULL, PRIMARY KEY (order_id, line))"};
            h.givenMonolith(schema);
            h.givenService(schema);
            // more items than one writer transaction takes (writer.maxBatchRows, 5,000): the first ones cannot all wait in one batch
            h.givenMonolith("INSERT INTO b_orders SELECT g, 'order ' || g FROM generate_series(1, 3000) g",
                    "INSERT INTO a_items SELECT o, l FROM generate_series(1, 3000) o, generate_series(1, 3) l");
            h.startStrangler("""
                    - from: public.a_items
                    - from: public.b_orders
                    """);
            String items = "SELECT order_id, line FROM a_items ORDER BY 1, 2";
            String orders = "SELECT id, note FROM b_orders ORDER BY 1";
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(60));
            h.awaitServiceMatchesMonolith(items, items, Duration.ofSeconds(60));
            assertThat(h.metrics.get("strangler.writer.parked").counter().count()).as("items parked on the way").isGreaterThan(0);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).isZero();
            assertThat(h.metrics.get("strangler.writer.parked.now").gauge().value()).isZero();
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
        }
    }
}
