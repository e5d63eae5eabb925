package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.cli.Pipeline;
import dev.strangler.core.Json;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static dev.strangler.benchmarks.Stats.median;
import static dev.strangler.benchmarks.Stats.seconds;

/**
 * The whole pipeline on the sandbox: capture → Kafka → sync engine → Kafka → writer → PostgreSQL.
 * Measures, in one run: the raw PostgreSQL insert ceiling (for reference), sustained changes/s end to
 * end (median of rounds, after warm-up), and end-to-end latency percentiles at fixed source rates.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, description = "End-to-end throughput and latency; prints one JSON object.")
final class E2eBenchmark implements Callable<Integer> {

    @Option(names = "--warmup", defaultValue = "800000", description = "Changes to run through before measuring (JIT warm-up).")
    int warmup;

    @Option(names = "--round-changes", defaultValue = "300000", description = "Changes per sustained-throughput round.")
    int roundChanges;

    @Option(names = "--rounds", defaultValue = "5", description = "Sustained-throughput rounds (the median is reported).")
    int rounds;

    @Option(names = "--rates", split = ",", defaultValue = "1000,5000", description = "Source rates (changes/s) for latency.")
    int[] rates;

    @Option(names = "--consistency", defaultValue = "transaction",
            description = "How the table is applied: transaction (whole source transactions, the default) or per-row.")
    String consistency;

    @Option(names = "--latency-seconds", defaultValue = "10", description = "Seconds per latency window (3 windows per rate, medians reported).")
    int latencySeconds;

    @Option(names = "--two-way", description = "Both databases take writes (50/50, 10%% of changes on contended keys): "
            + "changes/s and latency each way, conflicts/s. Uses --warmup, --round-changes and --rounds per side, the first --rates value per side.")
    boolean twoWay;

    @Option(names = "--transforms", description = "Two tables of the same shape, one plain and one with 2 derived columns, 1 cast, "
            + "2 masked columns and 2 rules: changes/s of each, rounds alternating, in one pipeline. Uses --warmup, --round-changes, --rounds.")
    boolean transforms;

    private final PrintStream progress = System.err;
    private String table = "events";
    private SimpleMeterRegistry metrics;
    private long nextId = 1;

    @Override
    public Integer call() throws Exception {
        if (twoWay) {
            ObjectNode result = new TwoWayBenchmark(warmup, rounds, roundChanges, rates[0], latencySeconds).run();
            System.out.println(result.toPrettyString());
            return 0;
        }
        if (transforms) {
            ObjectNode result = transformsComparison();
            System.out.println(result.toPrettyString());
            return 0;
        }
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "e2e");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        if (!consistency.equals("transaction") && !consistency.equals("per-row")) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--consistency is transaction or per-row, not " + consistency);
        }
        result.put("consistency", consistency);
        Path work = Files.createTempDirectory("strangler-bench");
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            postgres.createDatabase("monolith");
            postgres.createDatabase("service");
            postgres.execute("monolith", "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL, "
                    + "note text, at timestamptz NOT NULL DEFAULT now())");
            result.put("postgresInsertCeilingPerSecond", insertCeiling(postgres));

            StranglerConfig config = new ConfigLoader(k -> null, work).parse(config(kafka, postgres, work, consistency), "bench config");
            streaming(config, postgres, (monolith, recorder) -> {
                Measure.sustained(result, progress, warmup, rounds, roundChanges, changes -> burst(monolith, recorder, changes));
                ObjectNode latency = result.putObject("latencyMs");
                for (int rate : rates) {
                    latency.set(String.valueOf(rate), fixedRate(monolith, recorder, rate));
                }
            });
        } finally {
            Directories.deleteRecursively(work);
        }
        System.out.println(result.toPrettyString());
        return 0;
    }

    private static String config(EmbeddedKafka kafka, EmbeddedPostgres postgres, Path work, String consistency) {
        return """
                kafka: {bootstrap: "%s", topicPrefix: bench}
                monolith: {url: "%s", user: postgres, password: postgres}
                sync: {stateDir: "%s"}
                services:
                  svc:
                    url: "%s"
                    user: postgres
                    password: postgres
                    tables: [{from: public.events, consistency: %s}]
                """.formatted(kafka.bootstrapServers(), postgres.jdbcUrl("monolith"), work.resolve("streams"), postgres.jdbcUrl("service"), consistency);
    }

    /** Rows/s one connection inserts into PostgreSQL with batched multi-row INSERTs, same row shape: median of 3. */
    private long insertCeiling(EmbeddedPostgres postgres) throws SQLException {
        List<Double> runs = new ArrayList<>();
        try (Connection c = postgres.connect("service")) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE ceiling (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL, note text, at timestamptz NOT NULL DEFAULT now())");
            }
            c.setAutoCommit(false);
            StringBuilder sql = new StringBuilder("INSERT INTO ceiling (id, account, amount, note) VALUES ");
            for (int i = 0; i < 1000; i++) {
                sql.append(i == 0 ? "" : ",").append("(?, ?, ?, ?)");
            }
            long id = 1;
            for (int run = 0; run < 4; run++) {
                long started = System.nanoTime();
                int rows = 200_000;
                try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    for (int batch = 0; batch < rows / 1000; batch++) {
                        int p = 1;
                        for (int i = 0; i < 1000; i++) {
                            ps.setLong(p++, id++);
                            ps.setInt(p++, (int) (id % 1000));
                            ps.setBigDecimal(p++, java.math.BigDecimal.valueOf(id % 100_000, 2));
                            ps.setString(p++, "note " + id);
                        }
                        ps.executeUpdate();
                        c.commit();
                    }
                }
                double perSecond = rows / ((System.nanoTime() - started) / 1e9);
                if (run > 0) {
                    runs.add(perSecond);
                }
                progress.printf("postgres insert ceiling run %d: %,.0f rows/s%s%n", run, perSecond, run == 0 ? " (warm-up)" : "");
            }
        }
        return Math.round(median(runs));
    }

    /** Returns once a row inserted now is applied: the snapshot is over and changes stream. */
    private void awaitStreaming(Connection monolith, LatencyRecorder recorder) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        long probe = -1;
        while (System.nanoTime() < deadline) {
            long before = recorder.applied();
            try (Statement s = monolith.createStatement()) {
                s.execute("INSERT INTO events (id, account, amount) VALUES (" + probe-- + ", 0, 0)");
                monolith.commit();
            }
            long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < waitUntil) {
                if (recorder.applied() > before) {
                    progress.println("pipeline is streaming");
                    return;
                }
                Thread.sleep(5);
            }
        }
        throw new IllegalStateException("the pipeline did not apply a probe row within 2 minutes");
    }

    /**
     * Makes {@code changes} changes in the monolith as fast as it can (half inserts, half updates of
     * those rows, 5,000 rows per transaction) and waits until all are applied.
     *
     * @return changes per second from the first source commit to the last target commit
     */
    private double burst(Connection monolith, LatencyRecorder recorder, int changes) throws Exception {
        long appliedTarget = recorder.applied() + changes;
        double capturedTarget = count("strangler.capture.events") + changes;
        double routedTarget = count("strangler.sync.routed") + changes;
        long started = System.nanoTime();
        int inserts = changes / 2;
        long firstId = nextId;
        try (Statement s = monolith.createStatement()) {
            for (long from = firstId; from < firstId + inserts; from += 5000) {
                long to = Math.min(firstId + inserts, from + 5000) - 1;
                s.execute("INSERT INTO " + table + " (id, account, amount, note" + (transforms ? ", email, phone" : "") + ") "
                        + "SELECT g, g % 1000, (g % 100000) / 100.0, 'note ' || g" + (transforms ? ", 'user' || g || '@example.com', '+1 555 ' || g" : "")
                        + " FROM generate_series(" + from + ", " + to + ") g");
                monolith.commit();
            }
            for (long from = firstId; from < firstId + (changes - inserts); from += 5000) {
                long to = Math.min(firstId + (changes - inserts), from + 5000) - 1;
                s.execute("UPDATE " + table + " SET amount = amount + 1, note = 'updated' WHERE id BETWEEN " + from + " AND " + to);
                monolith.commit();
            }
        }
        nextId = firstId + inserts;
        double sourceDone = seconds(started);
        double captureDone = -1;
        double syncDone = -1;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (recorder.applied() < appliedTarget) {
            if (captureDone < 0 && count("strangler.capture.events") >= capturedTarget) {
                captureDone = seconds(started);
            }
            if (syncDone < 0 && count("strangler.sync.routed") >= routedTarget) {
                syncDone = seconds(started);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pipeline did not apply " + changes + " changes within 10 minutes: "
                        + (changes - (appliedTarget - recorder.applied())) + " applied");
            }
            Thread.sleep(5);
        }
        double total = seconds(started);
        progress.printf("  stages done after: source %.1fs, capture %.1fs, sync engine %.1fs, writer %.1fs%n",
                sourceDone, captureDone < 0 ? total : captureDone, syncDone < 0 ? total : syncDone, total);
        return changes / total;
    }

    /**
     * The plain table and the transformed one in one pipeline: warm-up on both, then rounds alternating
     * between them (each round a burst on one table), medians per table and their ratio.
     */
    private ObjectNode transformsComparison() throws Exception {
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "e2e --transforms");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        String shape = " (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL, note text, "
                + "at timestamptz NOT NULL DEFAULT now(), email text, phone text)";
        Path work = Files.createTempDirectory("strangler-bench");
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            postgres.createDatabase("monolith");
            postgres.createDatabase("service");
            postgres.execute("monolith", "CREATE TABLE events" + shape, "CREATE TABLE events_t" + shape);
            postgres.execute("service", "CREATE TABLE events" + shape.substring(0, shape.length() - 1) + ", strangler_version bigint)",
                    "CREATE TABLE events_t (id bigint PRIMARY KEY, account bigint NOT NULL, amount numeric(12,2) NOT NULL, note text, "
                            + "at timestamptz NOT NULL, email text, phone text, amount_cents bigint, label text, strangler_version bigint)");
            String yaml = """
                    kafka: {bootstrap: "%s", topicPrefix: bench}
                    monolith: {url: "%s", user: postgres, password: postgres}
                    sync: {stateDir: "%s", maskKey: "bench-mask-key-0123456789"}
                    services:
                      svc:
                        url: "%s"
                        user: postgres
                        password: postgres
                        tables:
                          - from: public.events
                          - from: public.events_t
                            derive: {amount_cents: "round(amount * 100)", label: "upper(note) || '-' || account"}
                            cast: {account: bigint}
                            mask: {email: hash, phone: "partial(keep-last=4)"}
                            rules: ["amount >= 0", "account is not null"]
                    """.formatted(kafka.bootstrapServers(), postgres.jdbcUrl("monolith"), work.resolve("streams"), postgres.jdbcUrl("service"));
            result.set("transformedRoute", Json.mapper().readTree("{\"derive\": 2, \"cast\": 1, \"mask\": [\"hash\", \"partial(keep-last=4)\"], \"rules\": 2}"));
            StranglerConfig config = new ConfigLoader(k -> null, work).parse(yaml, "bench config");
            streaming(config, postgres, (monolith, recorder) -> {
                long ids = nextId;
                java.util.Map<String, Long> next = new java.util.HashMap<>(java.util.Map.of("events", ids, "events_t", ids));
                java.util.Map<String, List<Double>> byTable = new java.util.LinkedHashMap<>();
                for (String t : List.of("events", "events_t")) {
                    byTable.put(t, new ArrayList<>());
                    progress.printf("warming up %s with %,d changes ...%n", t, warmup / 2);
                    table = t;
                    nextId = next.get(t);
                    burst(monolith, recorder, warmup / 2);
                    next.put(t, nextId);
                }
                for (int round = 1; round <= rounds; round++) {
                    for (String t : round % 2 == 1 ? List.of("events", "events_t") : List.of("events_t", "events")) {
                        table = t;
                        nextId = next.get(t);
                        double perSecond = burst(monolith, recorder, roundChanges);
                        next.put(t, nextId);
                        byTable.get(t).add(perSecond);
                        progress.printf("round %d %s: %,.0f changes/s%n", round, t, perSecond);
                    }
                }
                double plain = median(byTable.get("events"));
                double transformed = median(byTable.get("events_t"));
                result.put("plainChangesPerSecond", Math.round(plain));
                result.put("transformedChangesPerSecond", Math.round(transformed));
                result.put("transformedToPlain", Math.round(1000 * transformed / plain) / 1000.0);
                ArrayNode all = result.putArray("plainRounds");
                byTable.get("events").forEach(v -> all.add(Math.round(v)));
                ArrayNode allT = result.putArray("transformedRounds");
                byTable.get("events_t").forEach(v -> allT.add(Math.round(v)));
                if (h(postgres, "SELECT count(*) FROM events_t WHERE length(email) <> 64 OR amount_cents IS NULL OR label IS NULL") != 0) {
                    throw new IllegalStateException("the transformed table was not transformed");
                }
            });
        } finally {
            Directories.deleteRecursively(work);
        }
        return result;
    }

    /** What runs once the pipeline streams. */
    private interface StreamingWork {
        void run(Connection monolith, LatencyRecorder recorder) throws Exception;
    }

    /** Starts the data path of {@code config}, waits until it streams, runs {@code work}, stops it. */
    private void streaming(StranglerConfig config, EmbeddedPostgres postgres, StreamingWork work) throws Exception {
        LatencyRecorder recorder = new LatencyRecorder();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        this.metrics = registry;
        try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), recorder);
             Connection monolith = postgres.connect("monolith")) {
            pipeline.start(Pipeline.Part.DATA_PATH);
            monolith.setAutoCommit(false);
            awaitStreaming(monolith, recorder);
            work.run(monolith, recorder);
        }
    }

    private static long h(EmbeddedPostgres postgres, String sql) throws SQLException {
        try (Connection c = postgres.connect("service"); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private double count(String counter) {
        return metrics.find(counter).counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    /** Latency at a fixed source rate: a transaction every 10 ms with rate/100 inserted rows. */
    private ObjectNode fixedRate(Connection monolith, LatencyRecorder recorder, int rate) throws Exception {
        int rowsPerTick = Math.max(1, rate / 100);
        try (PreparedStatement ps = monolith.prepareStatement("INSERT INTO events (id, account, amount, note) SELECT g, g % 1000, 1.00, 'rate' "
                + "FROM generate_series(?, ?) g")) {
            return Measure.latency(recorder, progress, String.format("rate %,d/s", rate), TimeUnit.MILLISECONDS.toNanos(10), latencySeconds, () -> {
                ps.setLong(1, nextId);
                ps.setLong(2, nextId + rowsPerTick - 1);
                ps.execute();
                monolith.commit();
                nextId += rowsPerTick;
            });
        }
    }
}
