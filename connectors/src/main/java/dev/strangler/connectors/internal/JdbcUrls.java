package dev.strangler.connectors.internal;

import java.net.URI;

/** Host, port and database of a {@code jdbc:postgresql://host:port/db?params} or {@code jdbc:mariadb://...} URL, for Debezium. */
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

    /** A {@code jdbc:mariadb://} or {@code jdbc:mysql://} URL; the database part may be empty. */
    public static JdbcUrls parseMariaDb(String jdbcUrl) {
        String scheme = jdbcUrl.startsWith("jdbc:mariadb://") ? "jdbc:mariadb://" : jdbcUrl.startsWith("jdbc:mysql://") ? "jdbc:mysql://" : null;
        if (scheme == null) {
            throw new IllegalArgumentException("not a MariaDB/MySQL JDBC URL: " + jdbcUrl);
        }
        URI uri = URI.create("mysql://" + jdbcUrl.substring(scheme.length()));
        String path = uri.getPath() == null ? "" : uri.getPath();
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("a MariaDB JDBC URL needs a host: jdbc:mariadb://host:3306/db, not " + jdbcUrl);
        }
        return new JdbcUrls(uri.getHost(), uri.getPort() < 0 ? 3306 : uri.getPort(), path.startsWith("/") ? path.substring(1) : path);
    }
}
