package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strangler.core.Json;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.Executors;

/**
 * The demo's two read APIs, standing in for the monolith's code and the new orders service:
 * {@code GET /api/products/{id}} and {@code GET /api/orders/{id}} as JSON, read from the monolith
 * database or from the service database. The router sits in front of both and, in shadow mode,
 * compares their answers: with replication right, they agree.
 */
final class DemoReadApi implements AutoCloseable {

    private final HttpServer server;
    private final Connection connection;
    private final String orderQuery;

    /**
     * @param monolithSchema true: the monolith's columns (order_note; draft orders are not served);
     *                       false: the service's (note; drafts never reach it)
     */
    DemoReadApi(Connection connection, boolean monolithSchema) throws IOException {
        this(connection, monolithSchema, false);
    }

    /** @param mariadb the database is MariaDB (the demo's MariaDB monolith): its SQL for a number as text */
    DemoReadApi(Connection connection, boolean monolithSchema, boolean mariadb) throws IOException {
        this.connection = connection;
        String total = mariadb ? "CAST(total AS CHAR) AS total" : "total::text AS total";
        String price = mariadb ? "CAST(price AS CHAR) AS price" : "price::text AS price";
        this.orderQuery = monolithSchema
                ? "SELECT id, customer_id, status, " + total + ", order_note AS note FROM orders WHERE id = ? AND status <> 'draft'"
                : "SELECT id, customer_id, status, " + total + ", note FROM orders WHERE id = ?";
        String productQuery = "SELECT id, sku, name, " + price + ", stock FROM products WHERE id = ?";
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "demo-api");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/api/products/", e -> answer(e, productQuery));
        server.createContext("/api/orders/", e -> answer(e, orderQuery));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void answer(HttpExchange exchange, String sql) throws IOException {
        String path = exchange.getRequestURI().getPath();
        long id;
        try {
            id = Long.parseLong(path.substring(path.lastIndexOf('/') + 1));
        } catch (NumberFormatException e) {
            send(exchange, 400, "{\"error\":\"the id must be a number\"}");
            return;
        }
        try {
            ObjectNode row = null;
            synchronized (connection) {
                try (PreparedStatement st = connection.prepareStatement(sql)) {
                    st.setLong(1, id);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            row = Json.mapper().createObjectNode();
                            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                                row.put(rs.getMetaData().getColumnLabel(i), rs.getString(i));
                            }
                        }
                    }
                }
            }
            send(exchange, row == null ? 404 : 200, row == null ? "{\"error\":\"not found\"}" : row.toString());
        } catch (SQLException e) {
            send(exchange, 500, "{\"error\":\"" + e.getMessage().replace("\"", "'") + "\"}");
        }
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
