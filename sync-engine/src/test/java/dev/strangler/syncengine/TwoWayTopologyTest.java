package dev.strangler.syncengine;

import dev.strangler.core.ApplyRecord;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.TransactionCommit;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The two-way topology: echoes dropped per target, the way back, conflicts decided and acknowledged changes let through. */
class TwoWayTopologyTest {

    private static final String CONFIG = """
            monolith: {url: "jdbc:postgresql://h/shop", user: u}
            services:
              orders:
                url: jdbc:postgresql://h/orders
                user: u
                direction: two-way
                tables:
                  - {from: public.orders, columns: {status: state}}
              reporting:
                url: jdbc:postgresql://h/reporting
                user: u
                tables:
                  - public.orders
            """;

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private final RuleBook rules = new RuleBook(metrics);
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> monolithOrders;
    private TestInputTopic<byte[], byte[]> monolithMarkers;
    private TestInputTopic<byte[], byte[]> monolithTransactions;
    private TestInputTopic<byte[], byte[]> serviceOrders;
    private TestInputTopic<byte[], byte[]> serviceMarkers;
    private TestInputTopic<byte[], byte[]> serviceTransactions;
    private TestOutputTopic<byte[], byte[]> toService;
    private TestOutputTopic<byte[], byte[]> toReporting;
    private TestOutputTopic<byte[], byte[]> toMonolith;
    private TestOutputTopic<byte[], byte[]> conflicts;

    @BeforeEach
    void start() {
        StranglerConfig config = new ConfigLoader(k -> null, Path.of("/tmp")).parse(CONFIG, "test");
        SyncPlan plan = SyncPlan.fromConfig(config);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/strangler-two-way-" + System.nanoTime());
        driver = new TopologyTestDriver(SyncTopology.build(plan, Duration.ofSeconds(30), true, metrics, rules, Duration.ofSeconds(10)), props);
        TopicNames topics = config.topics();
        ByteArraySerializer ser = new ByteArraySerializer();
        TableId orders = TableId.parse("public.orders");
        TableId marker = TableId.parse("public.strangler_origin");
        monolithOrders = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, orders), ser, ser);
        monolithMarkers = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, marker), ser, ser);
        monolithTransactions = driver.createInputTopic(topics.transactions(TopicNames.MONOLITH_ORIGIN), ser, ser);
        serviceOrders = driver.createInputTopic(topics.cdc("orders", orders), ser, ser);
        serviceMarkers = driver.createInputTopic(topics.cdc("orders", marker), ser, ser);
        serviceTransactions = driver.createInputTopic(topics.transactions("orders"), ser, ser);
        ByteArrayDeserializer de = new ByteArrayDeserializer();
        toService = driver.createOutputTopic(topics.apply("orders"), de, de);
        toReporting = driver.createOutputTopic(topics.apply("reporting"), de, de);
        toMonolith = driver.createOutputTopic(topics.apply("monolith.orders"), de, de);
        conflicts = driver.createOutputTopic(topics.conflicts(), de, de);
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** One whole transaction: its changes (topic, table, key, after) then its END. */
    private static void transaction(TestInputTopic<byte[], byte[]> ends, String tx, long lsn, Object... changes) {
        int n = changes.length / 4;
        for (int i = 0; i < n; i++) {
            @SuppressWarnings("unchecked")
            TestInputTopic<byte[], byte[]> topic = (TestInputTopic<byte[], byte[]>) changes[4 * i];
            String table = (String) changes[4 * i + 1];
            String value = "{\"before\":null,\"after\":" + changes[4 * i + 3] + ",\"source\":{\"schema\":\"public\",\"table\":\"" + table
                    + "\",\"lsn\":" + (lsn + i) + ",\"ts_us\":" + lsn * 1000 + "},\"op\":\"u\",\"transaction\":{\"id\":\"" + tx
                    + "\",\"total_order\":" + (i + 1) + ",\"data_collection_order\":1}}";
            topic.pipeInput(b((String) changes[4 * i + 2]), b(value));
        }
        ends.pipeInput(b("{\"id\":\"" + tx + "\"}"), b("{\"status\":\"END\",\"id\":\"" + tx + "\",\"event_count\":" + n
                + ",\"data_collections\":[],\"ts_ms\":1}"));
    }

    private static List<String> rows(TestOutputTopic<byte[], byte[]> topic) {
        List<String> out = new ArrayList<>();
        for (TestRecord<byte[], byte[]> r : topic.readRecordsToList()) {
            if (TransactionCommit.isCommitKey(r.key())) {
                out.add("COMMIT");
            } else {
                ApplyRecord a = ApplyRecord.fromBytes(r.value());
                out.add((a.forced() ? "forced " : "") + a.action().name().toLowerCase() + " " + (a.row() == null ? a.key() : a.row()));
            }
        }
        return out;
    }

    private double echoes(String origin) {
        return metrics.get(MetricNames.SYNC_ECHOES_DROPPED).tag(MetricNames.TAG_ORIGIN, origin).counter().count();
    }

    @Test
    void aMarkedTransactionGoesToEveryTargetButTheOneItCameFrom() {
        transaction(monolithTransactions, "100", 1000,
                monolithMarkers, "strangler_origin", "{\"writer\":\"t-writer-monolith.orders\"}", "{\"writer\":\"t-writer-monolith.orders\",\"origin\":\"orders\",\"tx\":7}",
                monolithOrders, "orders", "{\"id\":1}", "{\"id\":1,\"status\":\"paid\"}");
        assertThat(rows(toService)).isEmpty();
        assertThat(rows(toReporting)).containsExactly("upsert {\"id\":1,\"status\":\"paid\"}", "COMMIT");
        assertThat(echoes("monolith")).isEqualTo(1);
    }

    @Test
    void aServiceChangeGoesBackRenamedWithoutTheVersionColumn() {
        transaction(serviceTransactions, "500", 2000,
                serviceOrders, "orders", "{\"id\":1}", "{\"id\":1,\"state\":\"shipped\",\"strangler_version\":42}");
        assertThat(rows(toMonolith)).containsExactly("upsert {\"id\":1,\"status\":\"shipped\"}", "COMMIT");
    }

    @Test
    void changesFromBothSidesThatDidNotSeeEachOtherAreDecidedAndBothSidesGetTheDecision() {
        transaction(monolithTransactions, "101", 1000, monolithOrders, "orders", "{\"id\":1}", "{\"id\":1,\"status\":\"paid\"}");
        transaction(serviceTransactions, "501", 1001, serviceOrders, "orders", "{\"id\":1}", "{\"id\":1,\"state\":\"cancelled\",\"strangler_version\":0}");
        // the monolith's change went on before the conflict was known; then the decision (the later commit) to both
        assertThat(rows(toService)).containsExactly("upsert {\"id\":1,\"state\":\"paid\"}", "COMMIT",
                "forced upsert {\"id\":1,\"state\":\"cancelled\"}", "COMMIT");
        assertThat(rows(toMonolith)).containsExactly("forced upsert {\"id\":1,\"status\":\"cancelled\"}", "COMMIT");
        assertThat(conflicts.readValuesToList()).singleElement().satisfies(v -> assertThat(new String(v, StandardCharsets.UTF_8))
                .contains("\"strategy\":\"last-writer-wins\"", "\"winner\":\"service\"", "\"rule\":\"default\""));
        assertThat(metrics.get(MetricNames.CONFLICTS).tag(MetricNames.TAG_WINNER, "service").counter().count()).isEqualTo(1);
    }

    @Test
    void aChangeMadeAfterTheOtherSidesChangeWasAppliedThereIsNoConflict() {
        transaction(monolithTransactions, "102", 1000, monolithOrders, "orders", "{\"id\":2}", "{\"id\":2,\"status\":\"paid\"}");
        // the service writer's transaction comes back from the service's capture: it had applied row 1 sent to the service
        transaction(serviceTransactions, "502", 1001,
                serviceMarkers, "strangler_origin", "{\"writer\":\"t-writer-orders\"}",
                "{\"writer\":\"t-writer-orders\",\"origin\":\"monolith\",\"tx\":3,\"through\":1}",
                serviceOrders, "orders", "{\"id\":2}", "{\"id\":2,\"state\":\"paid\",\"strangler_version\":1000}");
        transaction(serviceTransactions, "503", 1002, serviceOrders, "orders", "{\"id\":2}", "{\"id\":2,\"state\":\"shipped\",\"strangler_version\":1000}");
        assertThat(rows(toService)).containsExactly("upsert {\"id\":2,\"state\":\"paid\"}", "COMMIT");
        assertThat(rows(toMonolith)).containsExactly("upsert {\"id\":2,\"status\":\"shipped\"}", "COMMIT");
        assertThat(conflicts.readValuesToList()).isEmpty();
        assertThat(echoes("orders")).isEqualTo(1);
    }

    @Test
    void aChangeMadeBeforeTheServiceAppliedTheMonolithsLatestRowConflictsEvenIfAnOlderOneWasApplied() {
        transaction(monolithTransactions, "105", 1000, monolithOrders, "orders", "{\"id\":4}", "{\"id\":4,\"status\":\"a\"}");
        transaction(monolithTransactions, "106", 1001, monolithOrders, "orders", "{\"id\":4}", "{\"id\":4,\"status\":\"b\"}");
        // the service had applied the first (row 1 of its sequence) but not the second (row 2) when it changed the row
        transaction(serviceTransactions, "505", 1002,
                serviceMarkers, "strangler_origin", "{\"writer\":\"t-writer-orders\"}",
                "{\"writer\":\"t-writer-orders\",\"origin\":\"monolith\",\"tx\":4,\"through\":1}",
                serviceOrders, "orders", "{\"id\":4}", "{\"id\":4,\"state\":\"a\",\"strangler_version\":1000}");
        transaction(serviceTransactions, "506", 1003, serviceOrders, "orders", "{\"id\":4}", "{\"id\":4,\"state\":\"c\",\"strangler_version\":1000}");
        assertThat(conflicts.readValuesToList()).hasSize(1);
        // decided for the later commit: the service's, sent to both with the next numbers of each sequence
        assertThat(rows(toMonolith)).containsExactly("forced upsert {\"id\":4,\"status\":\"c\"}", "COMMIT");
    }

    @Test
    void aRuleWrittenLaterGovernsTheConflictsAfterIt() {
        rules.accept("public.orders", b("{\"strategy\": \"monolith-wins\"}"));
        transaction(monolithTransactions, "104", 1000, monolithOrders, "orders", "{\"id\":3}", "{\"id\":3,\"status\":\"paid\"}");
        transaction(serviceTransactions, "504", 1001, serviceOrders, "orders", "{\"id\":3}", "{\"id\":3,\"state\":\"cancelled\",\"strangler_version\":0}");
        assertThat(rows(toMonolith)).containsExactly("forced upsert {\"id\":3,\"status\":\"paid\"}", "COMMIT");
    }
}
