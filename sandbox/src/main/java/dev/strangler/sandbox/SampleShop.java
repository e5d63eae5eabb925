package dev.strangler.sandbox;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;

/**
 * The demo's sample monolith: a small shop (customers, products, orders, order_items) written by us and
 * generated from a seed, so every run has the same rows. Orders keep {@code total} equal to the sum of
 * their items in the same transaction, an invariant a reader of the service database can check.
 */
public final class SampleShop {

    public static final String SCHEMA = """
            CREATE TABLE customers (
              id bigserial PRIMARY KEY,
              email text NOT NULL UNIQUE,
              full_name text NOT NULL,
              country char(2),
              internal_notes text,
              created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE products (
              id bigserial PRIMARY KEY,
              sku text NOT NULL UNIQUE,
              name text NOT NULL,
              price numeric(12,2) NOT NULL,
              stock int NOT NULL,
              attributes jsonb);
            CREATE TABLE orders (
              id bigserial PRIMARY KEY,
              customer_id bigint NOT NULL REFERENCES customers(id),
              status text NOT NULL,
              total numeric(14,2) NOT NULL DEFAULT 0,
              order_note text,
              internal_flag boolean NOT NULL DEFAULT false,
              created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE order_items (
              order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
              line_no int NOT NULL,
              product_id bigint NOT NULL REFERENCES products(id),
              quantity int NOT NULL CHECK (quantity > 0),
              unit_price numeric(12,2) NOT NULL,
              PRIMARY KEY (order_id, line_no));
            """;

    private static final String[] FIRST = {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
            "Margaret", "Linus", "Sophie", "Niklaus", "Joan", "Dennis", "Katherine", "Guido", "Shafi", "Leslie"};
    private static final String[] LAST = {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
            "Perlman", "Berners-Lee", "Hamilton", "Torvalds", "Wilson", "Wirth", "Clarke", "Ritchie", "Johnson", "van Rossum",
            "Goldwasser", "Lamport"};
    private static final String[] COUNTRIES = {"DE", "FR", "GB", "US", "JP", "BR", "IN", "NG", "SE", "ES"};
    private static final String[] STATUSES = {"draft", "placed", "paid", "shipped", "delivered", "cancelled"};

    private final Random random;

    public SampleShop(long seed) {
        this.random = new Random(seed);
    }

    /** Creates the tables and loads customers, products, orders and their items. */
    public void create(Connection c, int customers, int products, int orders) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute(SCHEMA);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO customers (email, full_name, country, internal_notes) VALUES (?, ?, ?, ?)")) {
            for (int i = 1; i <= customers; i++) {
                String first = FIRST[random.nextInt(FIRST.length)];
                String last = LAST[random.nextInt(LAST.length)];
                ps.setString(1, (first + "." + last).toLowerCase().replace(' ', '-') + "." + i + "@example.com");
                ps.setString(2, first + " " + last);
                ps.setString(3, COUNTRIES[random.nextInt(COUNTRIES.length)]);
                ps.setString(4, random.nextInt(5) == 0 ? "vip; call before delivery" : null);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO products (sku, name, price, stock, attributes) VALUES (?, ?, ?, ?, ?::jsonb)")) {
            for (int i = 1; i <= products; i++) {
                ps.setString(1, String.format("SKU-%05d", i));
                ps.setString(2, "Product " + i);
                ps.setBigDecimal(3, price());
                ps.setInt(4, random.nextInt(500));
                ps.setString(5, "{\"color\": \"" + COUNTRIES[random.nextInt(COUNTRIES.length)].toLowerCase() + "\", \"weight_g\": " + (50 + random.nextInt(2000)) + "}");
                ps.addBatch();
            }
            ps.executeBatch();
        }
        for (int i = 0; i < orders; i++) {
            insertOrder(c, customers, products, STATUSES[random.nextInt(STATUSES.length)]);
        }
        c.commit();
        c.setAutoCommit(autoCommit);
    }

    /**
     * One transaction of the demo's write workload: usually a new order with its items, sometimes a
     * status change, a price change or a cancelled order deleted. Commits it.
     *
     * @return rows the transaction changed
     */
    public int nextTransaction(Connection c) throws SQLException {
        c.setAutoCommit(false);
        int changed;
        int dice = random.nextInt(10);
        long[] bounds = bounds(c);
        if (dice < 5) {
            changed = insertOrder(c, (int) bounds[0], (int) bounds[1], STATUSES[1 + random.nextInt(2)]);
        } else if (dice < 8) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE orders SET status = ? WHERE id = ?")) {
                ps.setString(1, STATUSES[1 + random.nextInt(STATUSES.length - 1)]);
                ps.setLong(2, 1 + random.nextInt((int) Math.max(1, bounds[2])));
                changed = ps.executeUpdate();
            }
        } else if (dice < 9) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE products SET price = ?, stock = stock + 1 WHERE id = ?")) {
                ps.setBigDecimal(1, price());
                ps.setLong(2, 1 + random.nextInt((int) Math.max(1, bounds[1])));
                changed = ps.executeUpdate();
            }
        } else {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM orders WHERE id = (SELECT id FROM orders WHERE status = 'cancelled' ORDER BY id LIMIT 1)")) {
                changed = ps.executeUpdate();
            }
        }
        c.commit();
        return changed;
    }

    private static long[] bounds(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT (SELECT max(id) FROM customers), (SELECT max(id) FROM products), (SELECT max(id) FROM orders)")) {
            rs.next();
            return new long[]{rs.getLong(1), rs.getLong(2), rs.getLong(3)};
        }
    }

    private int insertOrder(Connection c, int customers, int products, String status) throws SQLException {
        long orderId;
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, status, order_note, internal_flag) VALUES (?, ?, ?, ?) RETURNING id")) {
            ps.setLong(1, 1 + random.nextInt(customers));
            ps.setString(2, status);
            ps.setString(3, random.nextInt(4) == 0 ? "leave at the door ✓" : null);
            ps.setBoolean(4, random.nextInt(10) == 0);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                orderId = rs.getLong(1);
            }
        }
        int lines = 1 + random.nextInt(4);
        BigDecimal total = BigDecimal.ZERO;
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, ?)")) {
            for (int line = 1; line <= lines; line++) {
                int quantity = 1 + random.nextInt(5);
                BigDecimal price = price();
                total = total.add(price.multiply(BigDecimal.valueOf(quantity)));
                ps.setLong(1, orderId);
                ps.setInt(2, line);
                ps.setLong(3, 1 + random.nextInt(products));
                ps.setInt(4, quantity);
                ps.setBigDecimal(5, price);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE orders SET total = ? WHERE id = ?")) {
            ps.setBigDecimal(1, total);
            ps.setLong(2, orderId);
            ps.executeUpdate();
        }
        return 2 + lines;
    }

    private BigDecimal price() {
        return BigDecimal.valueOf(99 + random.nextInt(20000)).divide(BigDecimal.valueOf(100), 2, RoundingMode.UNNECESSARY);
    }
}
