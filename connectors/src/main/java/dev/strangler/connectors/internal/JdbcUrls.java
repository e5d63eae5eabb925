package dev.strangler.connectors.internal;

import java.net.URI;

/** Host, port and database of a {@code jdbc:postgresql://host:port/db?params} URL, for Debezium. */
public record JdbcUrls(String host, int port, String database) {

    public static JdbcUrls parsePostgres(String jdbcUrl) {
        if (!jdbcUrl.startsWith("jdbc:postgresql://")) {
            throw new IllegalArgumentException("not a PostgreSQL JDBC URL: " + jdbcUrl);
        }
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        String path = uri.getPath() == null ? "" : uri.getPath();
        String database = path.startsWith("/") ? path.substring(1) : path;
        if (uri.getHost() == null || database.isEmpty()) {
            throw new IllegalArgumentException("a PostgreSQL JDBC URL needs a host and a database: jdbc:postgresql://host:5432/db, not " + jdbcUrl);
        }
        return new JdbcUrls(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), database);
    }
}
