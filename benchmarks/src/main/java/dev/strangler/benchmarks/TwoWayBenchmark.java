package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.cli.Pipeline;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.Json;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.strangler.benchmarks.Stats.median;
import static dev.strangler.benchmarks.Stats.round1;
import static dev.strangler.benchmarks.Stats.seconds;

/**
 * {@code strangler bench e2e --two-way}: both databases take writes at once, half the changes each; each
 * side updates its own half of the keys, and 10% of its changes go to a small set of keys both sides
 * write (contended: these make the conflicts). Measures changes/s each way (median of rounds, after
 * warm-up; a round ends when a probe row committed last on each side has arrived on the other side: each
 * origin's changes are applied in commit order), conflicts/s, and latency each way at a fixed rate.
 */
final class TwoWayBenchmark {

    private static final String MONOLITH_TARGET = "monolith.svc";
    private static final int KEYS = 100_000;
    private static final int CONTENDED = 1_000;
    private static final int ROWS_PER_TRANSACTION = 500;

    private final PrintStream progress = System.err;
    private final int warmup;
    private final int rounds;
    private final int roundChanges;
    private final int latencyRate;
    private final int latencySeconds;
    private SimpleMeterRegistry metrics;
    private long probe = -1;

    TwoWayBenchmark(int warmup, int rounds, int roundChanges, int latencyRate, int latencySeconds) {
        this.warmup = warmup;
        this.rounds = rounds;
        this.roundChanges = roundChanges;
        this.latencyRate = latencyRate;
        this.latencySeconds = latencySeconds;
    }

    /** Per-target latency recorders: {@code svc} (monolith → service) and {@code monolith.svc} (service → monolith). */
    private static final class Recorders implements ApplyListener {
        final LatencyRecorder toService = new LatencyRecorder();
        final LatencyRecorder toMonolith = new LatencyRecorder();

        @Override
        public void committed(String service, Map<TableId, long[]> sourceCommitMicros, long committedMicros) {
            (service.equals(MONOLITH_TARGET) ? toMonolith : toService).committed(service, sourceCommitMicros, committedMicros);
        }
    }

    ObjectNode run() throws Exception {
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "e2e");
        result.put("mode", "two-way");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        result.put("keys", KEYS);
        result.put("contendedKeys", CONTENDED);
        result.put("contendedShare", 0.10);
        Path work = Files.createTempDirectory("strangler-bench");
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            postgres.createDatabase("monolith");
            postgres.createDatabase("service");
            postgres.execute("monolith", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2) NOT NULL, rev int NOT NULL, note text)",
                    "INSERT INTO accounts SELECT g, 0, 0, 'initial' FROM generate_series(1, " + KEYS + ") g");
            StranglerConfig config = new ConfigLoader(k -> null, work).parse("""
                    kafka: {bootstrap: "%s", topicPrefix: bench}
                    monolith: {url: "%s", user: postgres, password: postgres}
                    sync: {stateDir: "%s"}
                    services:
                      svc:
                        url: "%s"
                        user: postgres
                        password: postgres
                        direction: two-way
                        tables: [public.accounts]
                    """.formatted(kafka.bootstrapServers(), postgres.jdbcUrl("monolith"), work.resolve("streams"), postgres.jdbcUrl("service")),
                    "bench config");
            Recorders recorders = new Recorders();
            metrics = new SimpleMeterRegistry();
            ExecutorService sides = Executors.newFixedThreadPool(2);
            try (Pipeline pipeline = new Pipeline(config, metrics, Clock.systemUTC(), recorders);
                 Connection monolith = postgres.connect("monolith"); Connection service = postgres.connect("service")) {
                pipeline.start(Pipeline.Part.DATA_PATH);
                monolith.setAutoCommit(false);
                service.setAutoCommit(false);
                awaitTwoWay(monolith, service);
                progress.printf("warming up with %,d changes per side ...%n", warmup);
                burst(sides, monolith, service, warmup, 0);
                List<Double> toService = new ArrayList<>();
                List<Double> toMonolith = new ArrayList<>();
                List<Double> conflicts = new ArrayList<>();
                for (int round = 1; round <= rounds; round++) {
                    double[] r = burst(sides, monolith, service, roundChanges, round);
                    progress.printf("round %d: monolith → service %,.0f changes/s, service → monolith %,.0f changes/s, %,.0f conflicts/s%n",
                            round, r[0], r[1], r[2]);
                    toService.add(r[0]);
                    toMonolith.add(r[1]);
                    conflicts.add(r[2]);
                }
                ObjectNode sustained = result.putObject("sustainedChangesPerSecond");
                sustained.put("monolithToService", Math.round(median(toService)));
                sustained.put("serviceToMonolith", Math.round(median(toMonolith)));
                sustained.put("conflictsPerSecond", Math.round(median(conflicts)));
                sustained.put("changesPerSidePerRound", roundChanges);
                result.set("latencyMs", latency(monolith, service, recorders));
                awaitConverged(postgres);
                result.put("converged", true);
            } finally {
                sides.shutdownNow();
            }
        } finally {
            Directories.deleteRecursively(work);
        }
        return result;
    }

    /** Waits until a probe row made on each side has arrived on the other: both directions run. */
    private void awaitTwoWay(Connection monolith, Connection service) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (true) {
            try {
                // rows made before the service's capture started streaming never travel: probe again until both arrive
                probeBothWays(monolith, service, TimeUnit.SECONDS.toNanos(5));
                progress.println("pipeline runs both ways");
                return;
            } catch (IllegalStateException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the pipeline did not run both ways within 3 minutes");
                }
            }
        }
    }

    /** Inserts a probe row on each side and returns the seconds until each arrived on the other side. */
    private double[] probeBothWays(Connection monolith, Connection service, long timeoutNanos) throws Exception {
        long fromMonolith = probe--;
        long fromService = probe--;
        long started = System.nanoTime();
        execute(monolith, "INSERT INTO accounts VALUES (" + fromMonolith + ", 0, 0, 'probe')");
        execute(service, "INSERT INTO accounts (id, balance, rev, note) VALUES (" + fromService + ", 0, 0, 'probe')");
        double[] arrived = {-1, -1};
        long deadline = started + timeoutNanos;
        while (arrived[0] < 0 || arrived[1] < 0) {
            if (arrived[0] < 0 && exists(service, fromMonolith)) {
                arrived[0] = seconds(started);
            }
            if (arrived[1] < 0 && exists(monolith, fromService)) {
                arrived[1] = seconds(started);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("probe rows did not arrive both ways within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s");
            }
            Thread.sleep(5);
        }
        return arrived;
    }

    private static boolean exists(Connection c, long id) throws SQLException {
        try (Statement s = c.createStatement(); var rs = s.executeQuery("SELECT 1 FROM accounts WHERE id = " + id)) {
            boolean found = rs.next();
            c.commit();
            return found;
        }
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
        c.commit();
    }

    /**
     * {@code changes} updates on each side at once, as fast as each connection goes, then a probe each way.
     *
     * @return changes/s monolith → service, service → monolith, and conflicts/s
     */
    private double[] burst(ExecutorService sides, Connection monolith, Connection service, int changes, long seed) throws Exception {
        double conflictsBefore = conflicts();
        long started = System.nanoTime();
        Future<Double> m = sides.submit(() -> write(monolith, changes, 1, KEYS / 2, new Random(seed * 2 + 1)));
        Future<Double> s = sides.submit(() -> write(service, changes, KEYS / 2 + 1, KEYS, new Random(seed * 2 + 2)));
        m.get();
        s.get();
        double sourceDone = seconds(started);
        double[] probed = probeBothWays(monolith, service, TimeUnit.MINUTES.toNanos(10));
        double toService = sourceDone + probed[0];
        double toMonolith = sourceDone + probed[1];
        double total = Math.max(toService, toMonolith);
        progress.printf("  source %.1fs; applied monolith → service after %.1fs, service → monolith after %.1fs%n", sourceDone, toService, toMonolith);
        return new double[]{changes / toService, changes / toMonolith, (conflicts() - conflictsBefore) / total};
    }

    /** Updates in transactions of 500 rows: 90% of keys from [from, to], 10% contended. Returns seconds. */
    private static double write(Connection c, int changes, int from, int to, Random random) throws SQLException {
        long started = System.nanoTime();
        try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = balance + 1, rev = rev + 1, note = ? WHERE id = ANY (?)")) {
            for (int done = 0; done < changes; done += ROWS_PER_TRANSACTION) {
                Long[] keys = keys(random, Math.min(ROWS_PER_TRANSACTION, changes - done), from, to);
                updateRetryingDeadlocks(c, ps, keys, "w" + done);
            }
        }
        return seconds(started);
    }

    /** Distinct keys in ascending order (one lock order for every transaction of the workload). */
    private static Long[] keys(Random random, int n, int from, int to) {
        java.util.TreeSet<Long> keys = new java.util.TreeSet<>();
        while (keys.size() < n) {
            keys.add(random.nextInt(10) == 0 ? (long) (KEYS / 2 - CONTENDED / 2 + random.nextInt(CONTENDED))
                    : (long) (from + random.nextInt(to - from + 1)));
        }
        return keys.toArray(Long[]::new);
    }

    /** The writers update contended keys too: a deadlock with one of them is retried, as an application would. */
    private static void updateRetryingDeadlocks(Connection c, PreparedStatement ps, Long[] keys, String note) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                ps.setString(1, note);
                ps.setArray(2, c.createArrayOf("bigint", keys));
                ps.executeUpdate();
                c.commit();
                return;
            } catch (SQLException e) {
                c.rollback();
                if (!"40P01".equals(e.getSQLState()) || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    private double conflicts() {
        return metrics.find(MetricNames.CONFLICTS).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** Both sides at {@code latencyRate} changes/s each: a transaction every 10 ms on each; 3 windows, medians. */
    private ObjectNode latency(Connection monolith, Connection service, Recorders recorders) throws Exception {
        int rowsPerTick = Math.max(1, latencyRate / 100);
        Random random = new Random(42);
        List<double[]> toService = new ArrayList<>();
        List<double[]> toMonolith = new ArrayList<>();
        try (PreparedStatement m = monolith.prepareStatement("UPDATE accounts SET balance = balance + 1, rev = rev + 1, note = ? WHERE id = ANY (?)");
             PreparedStatement s = service.prepareStatement("UPDATE accounts SET balance = balance + 1, rev = rev + 1, note = ? WHERE id = ANY (?)")) {
            for (int window = -1; window < 3; window++) {
                if (window >= 0) {
                    recorders.toService.startRecording();
                    recorders.toMonolith.startRecording();
                }
                long ticks = (window < 0 ? 3L : latencySeconds) * 100;
                long start = System.nanoTime();
                for (long t = 0; t < ticks; t++) {
                    long wait = start + t * TimeUnit.MILLISECONDS.toNanos(10) - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    updateRetryingDeadlocks(monolith, m, keys(random, rowsPerTick, 1, KEYS / 2), "rate");
                    updateRetryingDeadlocks(service, s, keys(random, rowsPerTick, KEYS / 2 + 1, KEYS), "rate");
                }
                Thread.sleep(1000);
                if (window >= 0) {
                    double[] a = recorders.toService.stopRecording();
                    double[] b = recorders.toMonolith.stopRecording();
                    toService.add(a);
                    toMonolith.add(b);
                    progress.printf("rate %,d/s per side, window %d: monolith → service p99 %.1f ms, service → monolith p99 %.1f ms%n",
                            latencyRate, window + 1, a[2], b[2]);
                    progress.printf("  largest latency (ms) per second of the window: monolith → service %s; service → monolith %s%n",
                            java.util.Arrays.toString(recorders.toService.timeline()), java.util.Arrays.toString(recorders.toMonolith.timeline()));
                }
            }
        }
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("ratePerSide", latencyRate);
        node.set("monolithToService", percentiles(toService));
        node.set("serviceToMonolith", percentiles(toMonolith));
        return node;
    }

    private static ObjectNode percentiles(List<double[]> windows) {
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("p50", round1(median(windows.stream().map(w -> w[0]).toList())));
        node.put("p99", round1(median(windows.stream().map(w -> w[2]).toList())));
        node.put("rowsPerWindow", Math.round(median(windows.stream().map(w -> w[4]).toList())));
        return node;
    }

    /** Up to 10 rows that differ, as monolith row | service row. */
    private static List<String> differences(EmbeddedPostgres postgres) throws SQLException {
        java.util.Map<Long, String> m = new java.util.TreeMap<>();
        java.util.Map<Long, String> s = new java.util.TreeMap<>();
        String query = "SELECT id, balance || ':' || rev || ':' || coalesce(note, '') FROM accounts WHERE id > 0";
        try (Connection a = postgres.connect("monolith"); Connection b = postgres.connect("service");
             var ra = a.createStatement().executeQuery(query); var rb = b.createStatement().executeQuery(query)) {
            while (ra.next()) {
                m.put(ra.getLong(1), ra.getString(2));
            }
            while (rb.next()) {
                s.put(rb.getLong(1), rb.getString(2));
            }
        }
        List<String> out = new ArrayList<>();
        java.util.Set<Long> ids = new java.util.TreeSet<>(m.keySet());
        ids.addAll(s.keySet());
        for (Long id : ids) {
            if (!java.util.Objects.equals(m.get(id), s.get(id)) && out.size() < 10) {
                out.add(id + ": " + m.get(id) + " | " + s.get(id));
            }
        }
        return out;
    }

    /** Both databases hold the same rows at the end. */
    private void awaitConverged(EmbeddedPostgres postgres) throws Exception {
        // probe rows (negative ids) made before the service's capture streamed never travel, by design: left out
        String query = "SELECT md5(string_agg(id || ':' || balance || ':' || rev || ':' || coalesce(note, ''), ',' ORDER BY id)) FROM accounts WHERE id > 0";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("strangler.bench.convergeSeconds", 300));
        while (true) {
            String a;
            String b;
            try (Connection m = postgres.connect("monolith"); Connection s = postgres.connect("service");
                 var ra = m.createStatement().executeQuery(query); var rb = s.createStatement().executeQuery(query)) {
                ra.next();
                rb.next();
                a = ra.getString(1);
                b = rb.getString(1);
            }
            if (a.equals(b)) {
                progress.println("both databases hold the same rows");
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the databases did not converge within 5 minutes after the benchmark; rows that differ "
                        + "(monolith | service): " + differences(postgres));
            }
            Thread.sleep(500);
        }
    }
}
