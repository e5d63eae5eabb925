package dev.strangler.cli;

import dev.strangler.core.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Two-way sync PostgreSQL ⇄ PostgreSQL on a real broker: both directions, loop prevention, conflicts. */
class TwoWaySyncIT extends SandboxTestBase {

    private static final String ITEMS = "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, note text, secret text)";
    private static final String MONOLITH_VIEW = "SELECT id, name, qty, note FROM items ORDER BY id";
    private static final String SERVICE_VIEW = "SELECT id, title, qty, note FROM items ORDER BY id";
    private static final String TWO_WAY_ITEMS = """
            - from: public.items
              direction: two-way
              columns: {name: title, secret: null}""";

    /**
     * One table per strategy (rules set before start): one change each way on each, and each is applied once
     * on the other side and never again. The counts stay as they are for 30 s.
     */
    @Test
    void underEveryStrategyOneChangeEachWayIsAppliedOnceAndNeverSentBack() {
        Map<String, String> strategies = new java.util.LinkedHashMap<>();
        strategies.put("items", null);   // no rule: last-writer-wins
        strategies.put("t_mono", "{\"strategy\": \"monolith-wins\"}");
        strategies.put("t_svc", "{\"strategy\": \"service-wins\"}");
        strategies.put("t_merge", "{\"strategy\": \"merge\"}");
        strategies.put("t_custom", "{\"strategy\": \"custom\", \"class\": \"" + LargerQuantityWins.class.getName() + "\"}");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            StringBuilder yaml = new StringBuilder();
            new dev.strangler.connectors.KafkaTopics(new dev.strangler.connectors.KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1))
                    .ensureCompacted(java.util.Set.of(h.topicPrefix() + ".rules"));
            for (String t : strategies.keySet()) {
                h.givenMonolith(ITEMS.replace("items", t), "INSERT INTO " + t + " VALUES (1, 'one', 1, 'n', 's1'), (2, 'two', 2, 'n', 's2')");
                yaml.append(TWO_WAY_ITEMS.replace("public.items", "public." + t)).append('\n');
                if (strategies.get(t) != null) {
                    produce(h.topicPrefix() + ".rules", "public." + t, strategies.get(t));
                }
            }
            h.startStrangler(yaml.toString());
            for (String t : strategies.keySet()) {
                h.awaitServiceMatchesMonolith(MONOLITH_VIEW.replace("items", t), SERVICE_VIEW.replace("items", t), Duration.ofSeconds(60));
            }
            awaitCaptureRunning(h);

            for (String t : strategies.keySet()) {
                h.inMonolith("INSERT INTO " + t + " VALUES (3, 'three', 3, 'from monolith', 's3')");
            }
            for (String t : strategies.keySet()) {
                h.awaitServiceMatchesMonolith(MONOLITH_VIEW.replace("items", t), SERVICE_VIEW.replace("items", t), Duration.ofSeconds(30));
            }
            for (String t : strategies.keySet()) {
                h.givenService("UPDATE " + t + " SET qty = 30, note = 'from service' WHERE id = 3",
                        "INSERT INTO " + t + " (id, title, qty, note) VALUES (4, 'four', 4, 'born in service')");
            }
            for (String t : strategies.keySet()) {
                h.awaitServiceMatchesMonolith(MONOLITH_VIEW.replace("items", t), SERVICE_VIEW.replace("items", t), Duration.ofSeconds(30));
                // the column the service does not have is never blanked in the monolith
                assertThat(h.monolithRows("SELECT secret FROM " + t + " WHERE id = 3")).containsExactly(List.of("s3"));
            }

            // the snapshot's two rows and the insert went to the service; the update and the insert came back
            for (String t : strategies.keySet()) {
                assertThat(applied(h.metrics, "svc", "public." + t)).as(t + " applied in the service").isEqualTo(3);
                assertThat(applied(h.metrics, "monolith.svc", "public." + t)).as(t + " applied in the monolith").isEqualTo(2);
            }
            // nothing the writers applied comes back, ever
            Awaitility.await().during(Duration.ofSeconds(30)).atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                assertThat(applied(h.metrics, "svc")).isEqualTo(3 * strategies.size());
                assertThat(applied(h.metrics, "monolith.svc")).isEqualTo(2 * strategies.size());
            });
            assertThat(echoes(h.metrics, "monolith")).isEqualTo(2 * strategies.size());
            assertThat(echoes(h.metrics, "svc")).isGreaterThanOrEqualTo(strategies.size());
            assertThat(counter(h.metrics, MetricNames.CONFLICTS)).isZero();
        }
    }

    /**
     * One conflict per strategy, made deterministic: the service's transaction holds the row while the
     * monolith's change commits and reaches the service writer (which waits on the row lock), then
     * commits later. Neither side saw the other's change; the service's commits later.
     */
    @Test
    void everyStrategyDecidesItsConflictAndBothSidesKeepTheSameRow() throws Exception {
        List<String> tables = List.of("lww", "mono", "svc_wins", "merged", "custom");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            StringBuilder yaml = new StringBuilder();
            for (String t : tables) {
                h.givenMonolith("CREATE TABLE " + t + " (id bigint PRIMARY KEY, name text, qty int, note text)",
                        "INSERT INTO " + t + " VALUES (1, 'base', 1, 'base')");
                yaml.append("- from: public.").append(t).append("\n  direction: two-way\n");
            }
            Path config = h.writeConfig(yaml.toString());
            // rules before start, through the CLI; and one through a plain producer, as documented
            assertThat(runCli("rules", "set", "public.mono", "--strategy", "monolith-wins", "-c", config.toString()).exitCode()).isZero();
            assertThat(runCli("rules", "set", "public.svc_wins", "--strategy", "service-wins", "-c", config.toString()).exitCode()).isZero();
            assertThat(runCli("rules", "set", "public.merged", "--strategy", "merge", "--column", "note=monolith", "-c", config.toString()).exitCode()).isZero();
            produce(h.topicPrefix() + ".rules", "public.custom", "{\"strategy\": \"custom\", \"class\": \"" + LargerQuantityWins.class.getName() + "\"}");
            // an invalid record takes no effect: public.mono stays monolith-wins, and rules list says why
            produce(h.topicPrefix() + ".rules", "public.mono", "{\"strategy\": \"whoever-shouts\"}");
            CliResult list = runCli("rules", "list", "-c", config.toString());
            assertThat(list.stdout()).contains("public.mono", "monolith-wins", "REJECTED: strategy: 'whoever-shouts' is not one of");
            assertThat(runCli("rules", "set", "public.svc_wins", "--strategy", "newest", "-c", config.toString()).exitCode())
                    .as("an invalid rule is refused before it is written").isEqualTo(Main.EXIT_CONFIG);
            h.startStrangler(yaml.toString());
            for (String t : tables) {
                h.awaitServiceMatchesMonolith("SELECT * FROM " + t, "SELECT id, name, qty, note FROM " + t, Duration.ofSeconds(60));
            }
            awaitCaptureRunning(h);
            // a change both sides have applied: the row they last agreed on, which merge compares against
            for (String t : tables) {
                h.inMonolith("UPDATE " + t + " SET note = 'agreed' WHERE id = 1");
            }
            for (String t : tables) {
                h.awaitServiceMatchesMonolith("SELECT * FROM " + t, "SELECT id, name, qty, note FROM " + t, Duration.ofSeconds(30));
            }

            for (String t : tables) {
                conflictOn(h, t, "UPDATE " + t + " SET qty = 20, note = 'service note' WHERE id = 1",
                        "UPDATE " + t + " SET name = 'monolith name', qty = 10, note = 'monolith note' WHERE id = 1");
            }
            Map<String, List<String>> expected = Map.of(
                    "lww", List.of("1", "base", "20", "service note"),
                    "mono", List.of("1", "monolith name", "10", "monolith note"),
                    "svc_wins", List.of("1", "base", "20", "service note"),
                    // merge: name only the monolith changed, qty and note both: qty to the later commit, note as the rule says
                    "merged", List.of("1", "monolith name", "20", "monolith note"),
                    "custom", List.of("1", "base", "20", "larger qty"));
            for (String t : tables) {
                Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    assertThat(h.monolithRows("SELECT * FROM " + t)).as(t + " in the monolith").containsExactly(expected.get(t));
                    assertThat(h.serviceRows("SELECT id, name, qty, note FROM " + t)).as(t + " in the service").containsExactly(expected.get(t));
                });
            }
            assertThat(counter(h.metrics, MetricNames.CONFLICTS)).isEqualTo(5);
            assertThat(h.metrics.find(MetricNames.CONFLICTS).tag(MetricNames.TAG_STRATEGY, "merge").tag(MetricNames.TAG_WINNER, "merged").counter())
                    .isNotNull();
            List<String> audit = readAll(h.topicPrefix() + ".conflicts");
            assertThat(audit).hasSize(5);
            assertThat(audit).anySatisfy(a -> assertThat(a).contains("\"table\":\"public.mono\"", "\"strategy\":\"monolith-wins\"",
                    "\"winner\":\"monolith\"", "\"rule\":\"public.mono\"", "service note"));
        }
    }

    /**
     * Both sides write at once: keys only one side touches, and a small set of keys both hammer. Halfway,
     * the rule changes from monolith-wins to service-wins. Afterwards both databases hold the same rows,
     * one-sided keys hold their side's values, and no conflict decided after the first service-wins
     * decision used the old rule.
     */
    @Test
    void concurrentWritesOnBothSidesConvergeAndARuleChangeGovernsLaterConflicts() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith(ITEMS, "INSERT INTO items SELECT g, 'item ' || g, 0, 'initial', 'secret' FROM generate_series(1, 2000) g");
            Path config = h.writeConfig(TWO_WAY_ITEMS);
            assertThat(runCli("rules", "set", "*", "--strategy", "monolith-wins", "-c", config.toString()).exitCode()).isZero();
            // a window of 0: conflicts are found by what each side had applied, not by commit times
            h.startStranglerWith(h.config(TWO_WAY_ITEMS).replace("sync:\n", "sync:\n  conflictWindow: 0s\n"));
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(60));
            awaitCaptureRunning(h);

            java.util.concurrent.CountDownLatch halfway = new java.util.concurrent.CountDownLatch(2);
            java.util.concurrent.CountDownLatch ruleChanged = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            var monolithWrites = pool.submit(() -> write(h.monolithDb, "qty", "m", 1, 200, halfway, ruleChanged, 7));
            var serviceWrites = pool.submit(() -> write(h.serviceDb, "qty", "s", 201, 400, halfway, ruleChanged, 11));
            halfway.await(120, TimeUnit.SECONDS);
            // the first half's conflicts are decided (by the old rule) once both sides agree again
            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(90));
            double decidedByOldRule = counter(h.metrics, MetricNames.CONFLICTS);
            assertThat(runCli("rules", "set", "*", "--strategy", "service-wins", "-c", config.toString()).exitCode()).isZero();
            ruleChanged.countDown();
            monolithWrites.get(180, TimeUnit.SECONDS);
            serviceWrites.get(180, TimeUnit.SECONDS);
            pool.shutdown();

            h.awaitServiceMatchesMonolith(MONOLITH_VIEW, SERVICE_VIEW, Duration.ofSeconds(90));
            assertThat(h.monolithRows("SELECT count(*) FROM items WHERE id <= 200 AND note NOT LIKE 'm%' AND note <> 'initial'")).containsExactly(List.of("0"));
            assertThat(h.monolithRows("SELECT count(*) FROM items WHERE id BETWEEN 201 AND 400 AND note NOT LIKE 's%' AND note <> 'initial'")).containsExactly(List.of("0"));
            assertThat(h.monolithRows("SELECT count(*) FROM items WHERE secret = 'secret'")).containsExactly(List.of("2000"));

            List<String> strategies = readAll(h.topicPrefix() + ".conflicts").stream()
                    .map(a -> a.replaceAll(".*\"strategy\":\"([a-z-]+)\".*", "$1")).toList();
            assertThat(strategies).contains("monolith-wins", "service-wins");
            assertThat(strategies.subList(0, (int) decidedByOldRule)).containsOnly("monolith-wins");
            int firstNew = strategies.indexOf("service-wins");
            assertThat(strategies.subList(firstNew, strategies.size())).containsOnly("service-wins");
        }
    }

    /**
     * Updates keys in small transactions: its own keys [from, to] and the contended keys 401..450, in random
     * order; counts down {@code halfway} after half its updates and waits for {@code resume}.
     */
    private static Void write(String database, String column, String tag, int from, int to,
                              java.util.concurrent.CountDownLatch halfway, java.util.concurrent.CountDownLatch resume, long seed) throws Exception {
        java.util.Random random = new java.util.Random(seed);
        int updates = 1200;
        try (Connection c = postgres.connect(database)) {
            c.setAutoCommit(false);
            var ps = c.prepareStatement("UPDATE items SET " + column + " = ?, note = ? WHERE id = ?");
            List<int[]> transaction = new java.util.ArrayList<>();
            for (int i = 0; i < updates; i++) {
                if (i == updates / 2) {
                    halfway.countDown();
                    resume.await(120, TimeUnit.SECONDS);
                }
                int key = random.nextInt(3) == 0 ? 401 + random.nextInt(50) : from + random.nextInt(to - from + 1);
                transaction.add(new int[] {i, key});
                if (i % 3 == 2 || i == updates - 1) {
                    commit(c, ps, tag, transaction);
                    transaction.clear();
                }
            }
        }
        return null;
    }

    /**
     * One transaction of the workload (three updates in random key order), run again when PostgreSQL picks it as a
     * deadlock's victim: the writer applying the other side's transactions locks rows in another order, and an
     * application retries then.
     */
    private static void commit(Connection c, java.sql.PreparedStatement ps, String tag, List<int[]> updates) throws java.sql.SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                for (int[] u : updates) {
                    ps.setInt(1, u[0]);
                    ps.setString(2, tag + u[0]);
                    ps.setLong(3, u[1]);
                    ps.executeUpdate();
                }
                c.commit();
                return;
            } catch (java.sql.SQLException e) {
                c.rollback();
                if (!"40P01".equals(e.getSQLState()) || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    /**
     * A conflict that cannot be avoided: the service's update holds the row while the monolith's update
     * commits and reaches the service writer (which then waits for the row lock); the service commits
     * after that. Neither saw the other's change; the service's commits later.
     */
    static void conflictOn(StranglerHarness h, String table, String serviceUpdate, String monolithUpdate) {
        try (Connection service = postgres.connect(h.serviceDb)) {
            service.setAutoCommit(false);
            service.createStatement().execute(serviceUpdate);
            h.inMonolith(monolithUpdate);
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.count(h.serviceDb,
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'strangler-writer-svc'") > 0);
            service.commit();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void produce(String topic, String key, String value) {
        Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrapServers(), "acks", "all");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> readAll(String topic) {
        List<String> out = new ArrayList<>();
        new dev.strangler.connectors.KafkaTopics(new dev.strangler.connectors.KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1))
                .readToEnd(topic, r -> out.add(new String(r.value(), StandardCharsets.UTF_8)));
        return out;
    }

    static void awaitCaptureRunning(StranglerHarness h) {
        awaitCaptureRunning(h.pipeline());
    }

    static void awaitCaptureRunning(Pipeline pipeline) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.components().stream()
                .filter(c -> c.name().startsWith("capture:")).allMatch(c -> c.state() == dev.strangler.core.ComponentState.RUNNING));
    }

    static double applied(MeterRegistry metrics, String target, String table) {
        return metrics.find(MetricNames.APPLY_ROWS).tag(MetricNames.TAG_SERVICE, target).tag(MetricNames.TAG_TARGET_TABLE, table)
                .counters().stream().mapToDouble(Counter::count).sum();
    }

    static double applied(MeterRegistry metrics, String target) {
        return metrics.find(MetricNames.APPLY_ROWS).tag(MetricNames.TAG_SERVICE, target).counters().stream().mapToDouble(Counter::count).sum();
    }

    static double echoes(MeterRegistry metrics, String origin) {
        return metrics.find(MetricNames.SYNC_ECHOES_DROPPED).tag(MetricNames.TAG_ORIGIN, origin).counters().stream().mapToDouble(Counter::count).sum();
    }

    static double counter(MeterRegistry metrics, String name) {
        return metrics.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
