package dev.strangler.benchmarks;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.strangler.benchmarks.Stats.seconds;

/**
 * A multi-table transactional workload (an order and its four items: five rows per source transaction,
 * with a foreign key from items to orders in both databases), run twice in one process: once with
 * transaction-consistent apply and once with {@code per-row}, each on fresh databases and topics, so
 * the two are compared on the same machine in the same minutes.
 */
@Command(name = "orders", mixinStandardHelpOptions = true,
        description = "Orders + items (5 rows per transaction): transaction-consistent vs per-row apply, same run; prints one JSON object.")
final class OrdersBenchmark implements Callable<Integer> {

    private static final int ITEMS_PER_ORDER = 4;
    private static final int ROWS_PER_TRANSACTION = 1 + ITEMS_PER_ORDER;

    @Option(names = "--warmup", defaultValue = "400000", description = "Changes to run through before measuring, per mode (JIT warm-up).")
    int warmup;

    @Option(names = "--round-changes", defaultValue = "100000", description = "Changes per sustained-throughput round.")
    int roundChanges;

    @Option(names = "--rounds", defaultValue = "5", description = "Sustained-throughput rounds per mode (the median is reported).")
    int rounds;

    @Option(names = "--writers", defaultValue = "4", description = "Monolith connections committing transactions concurrently.")
    int writers;

    @Option(names = "--rate", defaultValue = "1000", description = "Source rate (changes/s) for the latency windows.")
    int rate;

    @Option(names = "--latency-seconds", defaultValue = "10", description = "Seconds per latency window (3 windows, medians reported).")
    int latencySeconds;

    private final PrintStream progress = System.err;

    @Override
    public Integer call() throws Exception {
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "orders");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        result.put("rowsPerTransaction", ROWS_PER_TRANSACTION);
        ObjectNode modes = result.putObject("modes");
        Path work = Files.createTempDirectory("strangler-bench-orders");
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            for (String mode : List.of("transaction", "per-row")) {
                progress.printf("== consistency: %s ==%n", mode);
                modes.set(mode, measure(kafka, postgres, work, mode));
            }
        } finally {
            Directories.deleteRecursively(work);
        }
        double transaction = modes.get("transaction").get("sustainedChangesPerSecond").asDouble();
        double perRow = modes.get("per-row").get("sustainedChangesPerSecond").asDouble();
        result.put("transactionShareOfPerRow", Math.round(1000 * transaction / perRow) / 1000.0);
        System.out.println(result.toPrettyString());
        return 0;
    }

    private ObjectNode measure(EmbeddedKafka kafka, EmbeddedPostgres postgres, Path work, String mode) throws Exception {
        String tag = mode.replace("-", "");
        String monolithDb = "monolith_" + tag;
        String serviceDb = "service_" + tag;
        postgres.createDatabase(monolithDb);
        postgres.createDatabase(serviceDb);
        for (String db : List.of(monolithDb, serviceDb)) {
            postgres.execute(db, "CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, total numeric(12,2) NOT NULL, "
                            + "status text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), line int NOT NULL, sku text NOT NULL, "
                            + "quantity int NOT NULL, price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line))");
        }
        String yaml = """
                kafka: {bootstrap: "%s", topicPrefix: "bench-%s"}
                monolith: {url: "%s", user: postgres, password: postgres}
                capture: {slotName: "bench_%s", publicationName: "bench_%s"}
                sync: {stateDir: "%s"}
                services:
                  svc:
                    url: "%s"
                    user: postgres
                    password: postgres
                    tables:
                      - {from: public.orders, consistency: %s}
                      - {from: public.order_items, consistency: %s}
                """.formatted(kafka.bootstrapServers(), tag, postgres.jdbcUrl(monolithDb), tag, tag, work.resolve("streams-" + tag),
                postgres.jdbcUrl(serviceDb), mode, mode);
        StranglerConfig config = new ConfigLoader(k -> null, work).parse(yaml, "bench config");
        LatencyRecorder recorder = new LatencyRecorder();
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        ObjectNode node = Json.mapper().createObjectNode();
        Workload workload = new Workload(postgres, monolithDb, writers);
        try (Pipeline pipeline = new Pipeline(config, metrics, Clock.systemUTC(), recorder)) {
            pipeline.start(Pipeline.Part.DATA_PATH);
            workload.awaitStreaming(recorder);
            Measure.sustained(node, progress, warmup, rounds, roundChanges, changes -> burst(workload, recorder, changes));
            node.set("latencyMs", fixedRate(workload, recorder));
            node.put("rowsParkedOnTheWay", Math.round(metrics.find("strangler.writer.parked").counters().stream()
                    .mapToDouble(io.micrometer.core.instrument.Counter::count).sum()));
        } finally {
            workload.close();
        }
        node.put("ordersInService", countRows(postgres, serviceDb, "orders"));
        return node;
    }

    private static long countRows(EmbeddedPostgres postgres, String db, String table) throws SQLException {
        try (Connection c = postgres.connect(db); Statement s = c.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Commits {@code changes} changes as fast as the monolith takes them (transactions of an order and its
     * items: first new orders, then updates of those orders with all their items) and waits until all are applied.
     *
     * @return changes per second from the first source commit to the last target commit
     */
    private double burst(Workload workload, LatencyRecorder recorder, int changes) throws Exception {
        int transactions = changes / ROWS_PER_TRANSACTION;
        long target = recorder.applied() + (long) transactions * ROWS_PER_TRANSACTION;
        long started = System.nanoTime();
        long firstOrder = workload.nextOrder;
        workload.run(firstOrder, transactions / 2, false);
        workload.run(firstOrder, transactions - transactions / 2, true);
        workload.nextOrder = firstOrder + transactions / 2;
        double sourceDone = seconds(started);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (recorder.applied() < target) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pipeline did not apply " + changes + " changes within 10 minutes");
            }
            Thread.sleep(5);
        }
        double total = seconds(started);
        progress.printf("  source done after %.1fs, writer after %.1fs%n", sourceDone, total);
        return (double) transactions * ROWS_PER_TRANSACTION / total;
    }

    /** Latency at a fixed source rate: one order transaction every 5/rate seconds. */
    private ObjectNode fixedRate(Workload workload, LatencyRecorder recorder) throws Exception {
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) * ROWS_PER_TRANSACTION / rate;
        ObjectNode node = Measure.latency(recorder, progress, String.format("rate %,d/s", rate), intervalNanos, latencySeconds,
                () -> workload.insertOrder(0, workload.nextOrder++));
        node.put("rate", rate);
        return node;
    }

    /** Monolith connections that commit order transactions, several at once. */
    private static final class Workload implements AutoCloseable {
        private final List<Connection> connections = new ArrayList<>();
        private final ExecutorService pool;
        long nextOrder = 1;

        Workload(EmbeddedPostgres postgres, String db, int writers) throws SQLException {
            for (int i = 0; i < writers; i++) {
                Connection c = postgres.connect(db);
                c.setAutoCommit(false);
                connections.add(c);
            }
            pool = Executors.newFixedThreadPool(writers);
        }

        /** Orders {@code first .. first+count-1}: inserted with their items, or updated with all their items. */
        void run(long first, int count, boolean update) throws Exception {
            List<Future<?>> done = new ArrayList<>();
            int n = connections.size();
            for (int w = 0; w < n; w++) {
                int writer = w;
                done.add(pool.submit(() -> {
                    for (long order = first + writer; order < first + count; order += n) {
                        if (update) {
                            updateOrder(writer, order);
                        } else {
                            insertOrder(writer, order);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }

        void insertOrder(int writer, long order) throws SQLException {
            Connection c = connections.get(writer);
            try (PreparedStatement o = c.prepareStatement("INSERT INTO orders (id, customer, total, status) VALUES (?, ?, ?, 'placed')");
                 PreparedStatement i = c.prepareStatement("INSERT INTO order_items (order_id, line, sku, quantity, price) "
                         + "SELECT ?, l, 'sku-' || l, l, 2.50 * l FROM generate_series(1, " + ITEMS_PER_ORDER + ") l")) {
                o.setLong(1, order);
                o.setInt(2, (int) (order % 10_000));
                o.setBigDecimal(3, java.math.BigDecimal.valueOf(2500, 2));
                o.executeUpdate();
                i.setLong(1, order);
                i.executeUpdate();
            }
            c.commit();
        }

        void updateOrder(int writer, long order) throws SQLException {
            Connection c = connections.get(writer);
            try (PreparedStatement o = c.prepareStatement("UPDATE orders SET status = 'paid', total = total + 1 WHERE id = ?");
                 PreparedStatement i = c.prepareStatement("UPDATE order_items SET quantity = quantity + 1 WHERE order_id = ?")) {
                o.setLong(1, order);
                o.executeUpdate();
                i.setLong(1, order);
                i.executeUpdate();
            }
            c.commit();
        }

        /** Returns once an order committed now is applied: the snapshot is over and changes stream. */
        void awaitStreaming(LatencyRecorder recorder) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            long probe = -1;
            while (System.nanoTime() < deadline) {
                long before = recorder.applied();
                insertOrder(0, probe--);
                long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (System.nanoTime() < waitUntil) {
                    if (recorder.applied() > before) {
                        System.err.println("pipeline is streaming");
                        return;
                    }
                    Thread.sleep(5);
                }
            }
            throw new IllegalStateException("the pipeline did not apply a probe order within 2 minutes");
        }

        @Override
        public void close() {
            pool.shutdownNow();
            for (Connection c : connections) {
                try {
                    c.close();
                } catch (SQLException e) {
                    // closing after the measurement; nothing to keep
                }
            }
        }
    }
}
