package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.cli.Pipeline;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.Json;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.strangler.benchmarks.Stats.median;
import static dev.strangler.benchmarks.Stats.round1;
import static dev.strangler.benchmarks.Stats.seconds;

/**
 * The initial copy of a large table while changes keep flowing, against its ceiling measured in the same
 * run: a plain dump/restore between the same two databases ({@code COPY ... TO STDOUT} piped into
 * {@code COPY ... FROM STDIN}, then the primary key built, as pg_dump | psql does).
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Initial copy of a large table while changes flow, against a COPY dump/restore ceiling; prints one JSON object.")
final class SnapshotBenchmark implements java.util.concurrent.Callable<Integer> {

    @Option(names = "--rows", defaultValue = "5000000", description = "Rows in the monolith's table (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--change-rate", defaultValue = "1000", description = "Updates/s of random existing rows during the copy (default: ${DEFAULT-VALUE}).")
    int changeRate;

    @Option(names = "--mode", defaultValue = "incremental", description = "capture.snapshot: copy (COPY straight into the service, chunked, resumable), incremental (Debezium's chunked, "
            + "resumable snapshot) or initial (Debezium's blocking snapshot).")
    String mode;

    @Option(names = "--chunk-rows", defaultValue = "50000", description = "capture.copyChunkRows for --mode copy (default: ${DEFAULT-VALUE}).")
    int chunkRows;

    @Option(names = "--copy-threads", defaultValue = "2", description = "capture.copyThreads for --mode copy (default: ${DEFAULT-VALUE}).")
    int copyThreads;

    @Option(names = "--ceiling-runs", defaultValue = "3", description = "Dump/restore runs (the median is reported).")
    int ceilingRuns;

    private final PrintStream progress = System.err;

    private static final String TABLE = "CREATE TABLE items (id bigint %s, account int NOT NULL, amount numeric(12,2) NOT NULL, "
            + "note text, at timestamptz NOT NULL)";
    private static final String FILL = "INSERT INTO items SELECT g, g %% 1000, (g %% 100000) / 100.0, 'note ' || g, "
            + "timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, %d) g";
    private static final String CHECKSUM = "SELECT count(*), sum(hashtextextended(id::text || ',' || account::text || ',' || amount::text || ','"
            + " || coalesce(note, '') || ',' || at::text, 0)) FROM items";

    @Override
    public Integer call() throws Exception {
        if (!List.of("copy", "incremental", "initial").contains(mode)) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--mode is copy, incremental or initial, not " + mode);
        }
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "snapshot");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        result.put("rows", rows);
        result.put("mode", mode);
        if (mode.equals("copy")) {
            result.put("copyChunkRows", chunkRows);
            result.put("copyThreads", copyThreads);
        }
        result.put("changeRatePerSecond", changeRate);
        Path work = Files.createTempDirectory("strangler-bench-snapshot");
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            postgres.createDatabase("monolith");
            postgres.createDatabase("ceiling");
            postgres.createDatabase("service");
            long started = System.nanoTime();
            postgres.execute("monolith", TABLE.formatted("PRIMARY KEY"), FILL.formatted(rows), "VACUUM ANALYZE items");
            progress.printf("%,d rows in the monolith (%.0f s)%n", rows, seconds(started));

            result.set("ceiling", ceiling(postgres));

            StranglerConfig config = new ConfigLoader(k -> null, work).parse(config(kafka, postgres, work), "bench config");
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            AtomicBoolean changing = new AtomicBoolean(true);
            AtomicLong changes = new AtomicLong();
            try (Connection monolith = postgres.connect("monolith"); Connection service = postgres.connect("service");
                 Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE)) {
                long copyStarted = System.nanoTime();
                boolean copyMode = mode.equals("copy");
                // the first rows may be in before the pipeline's start returns (the copy begins once the slot is made)
                CompletableFuture<Double> firstRows = CompletableFuture.supplyAsync(() -> firstRowsSeconds(postgres, copyMode, copyStarted));
                pipeline.start(Pipeline.Part.DATA_PATH);
                CompletableFuture<Void> load = CompletableFuture.runAsync(() -> changes(postgres, changing, changes));
                long copied = 0;
                long lastReport = 0;
                while (copyMode ? !copyDone(service) : copied < rows) {
                    // copy mode: its progress table says when the last chunk committed (a count(*) of millions of rows
                    // every 100 ms would load the database it measures)
                    Thread.sleep(copyMode ? 100 : 1000);
                    if (pipeline.failed().isPresent()) {
                        throw new IllegalStateException("the pipeline failed: " + pipeline.failed().get().failure().orElse("?"));
                    }
                    copied = copyMode ? copyProgress(service) : count(service);
                    if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(15)) {
                        progress.printf("copy: %,d of %,d rows in the service (%.0f s)%n", copied, rows, seconds(copyStarted));
                        lastReport = System.nanoTime();
                    }
                }
                double copySeconds = seconds(copyStarted);
                changing.set(false);
                load.join();
                long changesMade = changes.get();
                String[] expected = checksum(monolith);
                long consistentStarted = System.nanoTime();
                while (!java.util.Arrays.equals(checksum(service), expected)) {
                    if (seconds(consistentStarted) > 600) {
                        throw new IllegalStateException("the service did not match the monolith 600 s after the copy");
                    }
                    Thread.sleep(500);
                }
                double rowsPerSecond = rows / copySeconds;
                ObjectNode strangler = result.putObject("strangler");
                strangler.put("copySeconds", round1(copySeconds));
                // from the start until the first rows were in the service: broker topics, the replication slot, the
                // sync engine; included in copySeconds
                strangler.put("firstRowsAfterSeconds", round1(firstRows.join()));
                strangler.put("rowsPerSecond", Math.round(rowsPerSecond));
                strangler.put("changesDuringCopy", changesMade);
                strangler.put("changesPerSecondDuringCopy", Math.round(changesMade / copySeconds));
                strangler.put("equalSecondsAfterCopy", round1(seconds(consistentStarted)));
                result.put("ratioToCeiling", Math.round(1000 * rowsPerSecond / result.path("ceiling").path("rowsPerSecond").asDouble()) / 1000.0);
                progress.printf("copy: %,d rows in %.1f s (%,.0f rows/s) with %,d changes; equal %.1f s later%n", rows, copySeconds, rowsPerSecond,
                        changesMade, seconds(consistentStarted));
            }
        } finally {
            Directories.deleteRecursively(work);
        }
        System.out.println(result.toPrettyString());
        return 0;
    }

    /** COPY out of the monolith piped into COPY into an empty table without indexes, then its primary key: median of the runs. */
    private ObjectNode ceiling(EmbeddedPostgres postgres) throws Exception {
        List<Double> times = new ArrayList<>();
        try (Connection source = postgres.connect("monolith"); Connection target = postgres.connect("ceiling")) {
            CopyManager out = source.unwrap(PGConnection.class).getCopyAPI();
            CopyManager in = target.unwrap(PGConnection.class).getCopyAPI();
            for (int run = 1; run <= ceilingRuns; run++) {
                try (Statement s = target.createStatement()) {
                    s.execute("DROP TABLE IF EXISTS items");
                    s.execute(TABLE.formatted("NOT NULL"));
                }
                long started = System.nanoTime();
                PipedInputStream pipeIn = new PipedInputStream(1 << 20);
                PipedOutputStream pipeOut = new PipedOutputStream(pipeIn);
                CompletableFuture<Long> dump = CompletableFuture.supplyAsync(() -> {
                    try (pipeOut) {
                        return out.copyOut("COPY items TO STDOUT", pipeOut);
                    } catch (Exception e) {
                        throw new IllegalStateException("COPY TO failed: " + e.getMessage(), e);
                    }
                });
                long restored = in.copyIn("COPY items FROM STDIN", pipeIn);
                dump.join();
                try (Statement s = target.createStatement()) {
                    s.execute("ALTER TABLE items ADD PRIMARY KEY (id)");
                }
                double t = seconds(started);
                if (restored != rows) {
                    throw new IllegalStateException("the dump/restore copied " + restored + " rows, not " + rows);
                }
                times.add(t);
                progress.printf("dump/restore run %d: %.1f s (%,.0f rows/s)%n", run, t, rows / t);
            }
        }
        double median = median(times);
        ObjectNode o = Json.mapper().createObjectNode();
        o.put("method", "COPY items TO STDOUT | COPY items FROM STDIN, then ADD PRIMARY KEY (as pg_dump | psql)");
        o.put("seconds", round1(median));
        o.put("rowsPerSecond", Math.round(rows / median));
        ArrayNode all = o.putArray("runsSeconds");
        times.forEach(t -> all.add(round1(t)));
        return o;
    }

    /** Updates of random existing rows at {@code changeRate}/s, one per transaction, until told to stop. */
    private void changes(EmbeddedPostgres postgres, AtomicBoolean changing, AtomicLong made) {
        try (Connection c = postgres.connect("monolith");
             PreparedStatement update = c.prepareStatement("UPDATE items SET note = ?, amount = amount + 1 WHERE id = ?")) {
            long intervalNanos = TimeUnit.SECONDS.toNanos(1) / changeRate;
            long next = System.nanoTime();
            while (changing.get()) {
                update.setString(1, "changed " + made.get());
                update.setLong(2, 1 + ThreadLocalRandom.current().nextLong(rows));
                update.executeUpdate();
                made.incrementAndGet();
                next += intervalNanos;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("the change load failed: " + e.getMessage(), e);
        }
    }

    /** Seconds from {@code started} until the service holds a first row, looked at every 20 ms. */
    private static double firstRowsSeconds(EmbeddedPostgres postgres, boolean copyMode, long started) {
        try (Connection c = postgres.connect("service")) {
            while (true) {
                try {
                    if ((copyMode ? copyProgress(c) : firstLong(c, "SELECT count(*) FROM (SELECT 1 FROM items LIMIT 1) AS one")) > 0) {
                        return seconds(started);
                    }
                } catch (SQLException e) {
                    if (!"42P01".equals(e.getSQLState())) { // the tables are made by the pipeline's start
                        throw e;
                    }
                }
                Thread.sleep(20);
            }
        } catch (SQLException | InterruptedException e) {
            throw new IllegalStateException("cannot watch for the first copied rows: " + e.getMessage(), e);
        }
    }

    private static long count(Connection c) throws SQLException {
        return firstLong(c, "SELECT count(*) FROM items");
    }

    /** Rows the copy has committed ({@code capture.snapshot: copy}), from its progress table. */
    private static long copyProgress(Connection c) throws SQLException {
        return firstLong(c, "SELECT coalesce(sum(rows_copied), 0) FROM strangler_copy");
    }

    private static boolean copyDone(Connection c) throws SQLException {
        return firstLong(c, "SELECT count(*) FROM strangler_copy WHERE done") == 1;
    }

    /** The first column of the query's first row; 0 while its table does not exist yet (42P01). */
    private static long firstLong(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                return 0;
            }
            throw e;
        }
    }

    private static String[] checksum(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(CHECKSUM)) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2)};
        }
    }

    private String config(EmbeddedKafka kafka, EmbeddedPostgres postgres, Path work) {
        return """
                kafka: {bootstrap: "%s", topicPrefix: bench}
                monolith: {url: "%s", user: postgres, password: postgres}
                capture: {snapshot: %s, copyChunkRows: %d, copyThreads: %d}
                sync: {stateDir: "%s"}
                services:
                  svc:
                    url: "%s"
                    user: postgres
                    password: postgres
                    tables: [{from: public.items}]
                """.formatted(kafka.bootstrapServers(), postgres.jdbcUrl("monolith"), mode, chunkRows, copyThreads, work.resolve("streams"), postgres.jdbcUrl("service"));
    }
}
