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

    /** The database the sample shop is made in. */
    public enum Dialect {
        POSTGRES, MARIADB
    }

    /** The shop's tables in MariaDB: the same shop (cascades left out: MariaDB does not write cascaded deletes to its binlog). */
    public static final String MARIADB_SCHEMA = """
            CREATE TABLE customers (
              id BIGINT AUTO_INCREMENT PRIMARY KEY,
              email VARCHAR(200) NOT NULL UNIQUE,
              full_name VARCHAR(200) NOT NULL,
              country CHAR(2),
              internal_notes TEXT,
              created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
            CREATE TABLE products (
              id BIGINT AUTO_INCREMENT PRIMARY KEY,
              sku VARCHAR(40) NOT NULL UNIQUE,
              name VARCHAR(200) NOT NULL,
              price DECIMAL(12,2) NOT NULL,
              stock INT NOT NULL,
              attributes JSON);
            CREATE TABLE orders (
              id BIGINT AUTO_INCREMENT PRIMARY KEY,
              customer_id BIGINT NOT NULL REFERENCES customers(id),
              status VARCHAR(20) NOT NULL,
              total DECIMAL(14,2) NOT NULL DEFAULT 0,
              order_note TEXT,
              internal_flag BOOLEAN NOT NULL DEFAULT false,
              created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
            CREATE TABLE order_items (
              order_id BIGINT NOT NULL REFERENCES orders(id),
              line_no INT NOT NULL,
              product_id BIGINT NOT NULL REFERENCES products(id),
              quantity INT NOT NULL CHECK (quantity > 0),
              unit_price DECIMAL(12,2) NOT NULL,
              PRIMARY KEY (order_id, line_no))
            """;

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
    private final Dialect dialect;

    public SampleShop(long seed) {
        this(seed, Dialect.POSTGRES);
    }

    public SampleShop(long seed, Dialect dialect) {
        this.random = new Random(seed);
        this.dialect = dialect;
    }

    /** Creates the tables and loads customers, products, orders and their items. */
    public void create(Connection c, int customers, int products, int orders) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            if (dialect == Dialect.POSTGRES) {
                s.execute(SCHEMA);
            } else {
                for (String table : MARIADB_SCHEMA.split(";")) {
                    s.execute(table);
                }
            }
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
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO products (sku, name, price, stock, attributes) VALUES (?, ?, ?, ?, "
                + (dialect == Dialect.POSTGRES ? "?::jsonb)" : "?)"))) {
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
            if (dialect == Dialect.POSTGRES) {
                try (PreparedStatement ps = c.prepareStatement(
                        "DELETE FROM orders WHERE id = (SELECT id FROM orders WHERE status = 'cancelled' ORDER BY id LIMIT 1)")) {
                    changed = ps.executeUpdate();
                }
            } else {
                // no cascade in MariaDB's binlog: the items go first, by statement
                changed = 0;
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT min(id) FROM orders WHERE status = 'cancelled'")) {
                    if (rs.next() && rs.getObject(1) != null) {
                        long id = rs.getLong(1);
                        changed += s.executeUpdate("DELETE FROM order_items WHERE order_id = " + id);
                        changed += s.executeUpdate("DELETE FROM orders WHERE id = " + id);
                    }
                }
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
