package dev.strangler.cli;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
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
 * A service schema with foreign keys and a cross-table invariant (orders.total = sum of its items),
 * kept by the monolith in one transaction: applied whole and in commit order, the service database
 * never violates a foreign key and a concurrent reader never sees the invariant broken.
 */
class TransactionConsistencyIT extends SandboxTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionConsistencyIT.class);
    private static final Duration WORKLOAD = Duration.ofSeconds(Long.getLong("strangler.it.workloadSeconds", 30));
    private static final String INVARIANT_BROKEN_DETAIL = """
            SELECT o.id, o.total, o.strangler_version, s.sum, s.items FROM orders o
            LEFT JOIN LATERAL (SELECT coalesce(sum(i.quantity * i.unit_price), 0) AS sum,
                               string_agg(i.line || 'x' || i.quantity || '@' || i.unit_price || ' v' || i.strangler_version, ', ') AS items
                               FROM order_items i WHERE i.order_id = o.id) s ON true
            WHERE o.total <> s.sum LIMIT 1""";

    private static final String INVARIANT_BROKEN = """
            SELECT count(*) FROM orders o
            WHERE o.total <> coalesce((SELECT sum(i.quantity * i.unit_price) FROM order_items i WHERE i.order_id = o.id), 0)""";

    @Test
    void aReaderOfTheServiceNeverSeesHalfASourceTransaction() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(
                    "CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(14,2) NOT NULL)",
                    "CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), line int NOT NULL, "
                            + "quantity int NOT NULL, unit_price numeric(12,2) NOT NULL, PRIMARY KEY (order_id, line))");
            h.givenService(
                    "CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(14,2) NOT NULL, strangler_version bigint)",
                    "CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), line int NOT NULL, "
                            + "quantity int NOT NULL CHECK (quantity > 0), unit_price numeric(12,2) NOT NULL, strangler_version bigint, "
                            + "PRIMARY KEY (order_id, line))");
            h.startStrangler("""
                    - from: public.orders
                    - from: public.order_items
                    """);
            // streaming, not the initial copy, is under test here: start once a change has streamed through
            h.inMonolith("INSERT INTO orders VALUES (0, 'probe', 0)");
            h.awaitServiceMatchesMonolith("SELECT id FROM orders", "SELECT id FROM orders", Duration.ofSeconds(60));

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong transactions = new AtomicLong();
            AtomicLong checks = new AtomicLong();
            List<String> violations = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (Connection c = postgres.connect(h.serviceDb); Statement s = c.createStatement()) {
                    while (running.get()) {
                        try (ResultSet rs = s.executeQuery(INVARIANT_BROKEN_DETAIL)) {
                            if (rs.next()) {
                                synchronized (violations) {
                                    if (violations.size() < 5) {
                                        violations.add("after " + checks.get() + " checks: order " + rs.getLong(1) + " total " + rs.getString(2)
                                                + " (version " + rs.getString(3) + ") but its items sum to " + rs.getString(4) + " " + rs.getString(5));
                                    }
                                }
                            }
                        }
                        checks.incrementAndGet();
                    }
                } catch (SQLException e) {
                    synchronized (violations) {
                        violations.add("reader failed: " + e.getMessage());
                    }
                }
            }, "invariant-reader");
            Thread writer = new Thread(() -> workload(h, running, transactions), "workload");
            reader.start();
            writer.start();
            long until = System.nanoTime() + WORKLOAD.toNanos();
            org.awaitility.Awaitility.await().atMost(WORKLOAD.plusSeconds(30)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> System.nanoTime() > until || !writer.isAlive());
            running.set(false);
            writer.join();
            reader.join();
            LOG.info("{} monolith transactions, {} invariant checks on the service", transactions.get(), checks.get());

            String orders = "SELECT id, customer, total::text FROM orders ORDER BY id";
            String items = "SELECT order_id, line, quantity, unit_price::text FROM order_items ORDER BY order_id, line";
            h.awaitServiceMatchesMonolith(orders, orders, Duration.ofSeconds(90));
            h.awaitServiceMatchesMonolith(items, items, Duration.ofSeconds(90));
            assertThat(violations).as("invariant violations seen by the reader").isEmpty();
            assertThat(checks.get()).isGreaterThan(100);
            assertThat(transactions.get()).isGreaterThan(200);
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
            assertThat(h.metrics.get("strangler.writer.transactions").counter().count()).isGreaterThan(100);
            assertThat(h.metrics.get("strangler.sync.transactions").counter().count()).isGreaterThan(100);
        }
    }

    /** New orders with items, item changes with the total kept, orders deleted with their items; each in one transaction. */
    private static void workload(StranglerHarness h, AtomicBoolean running, AtomicLong transactions) {
        Random random = new Random(11);
        long nextId = 1;  // order 0 is the probe
        List<Long> live = new ArrayList<>();
        try (Connection c = postgres.connect(h.monolithDb)) {
            c.setAutoCommit(false);
            while (running.get()) {
                int dice = random.nextInt(10);
                if (dice < 5 || live.size() < 20) {
                    long id = nextId++;
                    insert(c, "INSERT INTO orders VALUES (?, ?, 0)", id, "customer " + random.nextInt(100));
                    int lines = 1 + random.nextInt(5);
                    for (int line = 1; line <= lines; line++) {
                        try (PreparedStatement ps = c.prepareStatement("INSERT INTO order_items VALUES (?, ?, ?, ?)")) {
                            ps.setLong(1, id);
                            ps.setInt(2, line);
                            ps.setInt(3, 1 + random.nextInt(9));
                            ps.setBigDecimal(4, BigDecimal.valueOf(100 + random.nextInt(10_000), 2));
                            ps.executeUpdate();
                        }
                    }
                    recomputeTotal(c, id);
                    live.add(id);
                } else if (dice < 8) {
                    long id = live.get(random.nextInt(live.size()));
                    insert(c, "UPDATE order_items SET quantity = quantity + 1 WHERE order_id = ? AND line = 1", id);
                    recomputeTotal(c, id);
                } else {
                    long id = live.remove(random.nextInt(live.size()));
                    insert(c, "DELETE FROM order_items WHERE order_id = ?", id);
                    insert(c, "DELETE FROM orders WHERE id = ?", id);
                }
                c.commit();
                transactions.incrementAndGet();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("workload failed", e);
        }
    }

    private static void recomputeTotal(Connection c, long id) throws SQLException {
        insert(c, "UPDATE orders SET total = (SELECT coalesce(sum(quantity * unit_price), 0) FROM order_items WHERE order_id = ?) WHERE id = ?", id, id);
    }

    private static void insert(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            ps.executeUpdate();
        }
    }
}
