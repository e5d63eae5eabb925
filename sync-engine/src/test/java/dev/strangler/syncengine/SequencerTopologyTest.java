package dev.strangler.syncengine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.Json;
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

/** Transaction-consistent routing: whole source transactions, in commit order, closed by a commit marker. */
class SequencerTopologyTest {

    /** The sequencer in the route processor's task (one-partition cdc topics); see {@link SequencerTopicTopologyTest}. */
    boolean singlePartition() {
        return true;
    }

    private static final String CONFIG = """
            monolith: {url: "jdbc:postgresql://h/shop", user: u}
            services:
              orders:
                url: jdbc:postgresql://h/orders
                user: u
                tables:
                  - from: public.orders
                    where: "status <> 'draft'"
                  - from: public.order_items
              audit:
                url: jdbc:postgresql://h/audit
                user: u
                tables:
                  - {from: public.orders, consistency: per-row}
            """;

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> orders;
    private TestInputTopic<byte[], byte[]> items;
    private TestInputTopic<byte[], byte[]> transactions;
    private TestOutputTopic<byte[], byte[]> ordersApply;
    private TestOutputTopic<byte[], byte[]> auditApply;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void start() {
        StranglerConfig config = new ConfigLoader(k -> null, Path.of("/tmp")).parse(CONFIG, "test");
        SyncPlan plan = SyncPlan.fromConfig(config);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/strangler-seq-" + System.nanoTime());
        driver = new TopologyTestDriver(SyncTopology.build(plan, Duration.ofSeconds(30), singlePartition(), metrics), props);
        TopicNames topics = config.topics();
        ByteArraySerializer ser = new ByteArraySerializer();
        orders = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, TableId.parse("public.orders")), ser, ser);
        items = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, TableId.parse("public.order_items")), ser, ser);
        transactions = driver.createInputTopic(topics.transactions(TopicNames.MONOLITH_ORIGIN), ser, ser);
        ByteArrayDeserializer de = new ByteArrayDeserializer();
        ordersApply = driver.createOutputTopic(topics.apply("orders"), de, de);
        auditApply = driver.createOutputTopic(topics.apply("audit"), de, de);
        deadLetters = driver.createOutputTopic(topics.deadLetters(), de, de);
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void change(TestInputTopic<byte[], byte[]> topic, String table, String key, String after, long lsn, String tx, long order) {
        String value = "{\"before\":null,\"after\":" + after + ",\"source\":{\"schema\":\"public\",\"table\":\"" + table + "\",\"lsn\":" + lsn
                + ",\"ts_us\":" + lsn + "},\"op\":\"c\",\"transaction\":{\"id\":\"" + tx + "\",\"total_order\":" + order
                + ",\"data_collection_order\":1}}";
        topic.pipeInput(b(key), b(value));
    }

    private void end(String tx, int count) {
        transactions.pipeInput(b("{\"id\":\"" + tx + "\"}"), b("{\"status\":\"END\",\"id\":\"" + tx + "\",\"event_count\":" + count
                + ",\"data_collections\":[],\"ts_ms\":1}"));
    }

    private void begin(String tx) {
        transactions.pipeInput(b("{\"id\":\"" + tx + "\"}"), b("{\"status\":\"BEGIN\",\"id\":\"" + tx + "\",\"event_count\":null,\"ts_ms\":1}"));
    }

    /** The orders service's apply topic as "table:key" rows and "COMMIT tx(rows)" markers. */
    private List<String> ordersOutput() {
        List<String> out = new ArrayList<>();
        for (TestRecord<byte[], byte[]> r : ordersApply.readRecordsToList()) {
            if (TransactionCommit.isCommitKey(r.key())) {
                TransactionCommit c = TransactionCommit.fromBytes(r.value());
                out.add("COMMIT " + c.transactionId() + "(" + c.rows() + ")");
            } else {
                ApplyRecord a = ApplyRecord.fromBytes(r.value());
                out.add(a.table().table() + ":" + a.key().toString().replace("\"", ""));
            }
        }
        return out;
    }

    @Test
    void aTransactionIsEmittedWholeOnlyWhenItsEndAndAllItsChangesHaveArrived() {
        begin("tx1");
        change(orders, "orders", "{\"id\":1}", "{\"id\":1,\"status\":\"placed\"}", 100, "tx1", 1);
        end("tx1", 3);
        change(items, "order_items", "{\"order_id\":1,\"line\":1}", "{\"order_id\":1,\"line\":1}", 101, "tx1", 2);
        assertThat(ordersOutput()).as("one change still missing").isEmpty();
        change(items, "order_items", "{\"order_id\":1,\"line\":2}", "{\"order_id\":1,\"line\":2}", 102, "tx1", 3);
        assertThat(ordersOutput()).containsExactly("orders:{id:1}", "order_items:{order_id:1,line:1}", "order_items:{order_id:1,line:2}",
                "COMMIT tx1(3)");
    }

    @Test
    void transactionsAreEmittedInCommitOrderEvenWhenALaterOneIsCompleteFirst() {
        end("tx1", 2);
        end("tx2", 1);
        change(orders, "orders", "{\"id\":2}", "{\"id\":2,\"status\":\"paid\"}", 200, "tx2", 1);
        change(orders, "orders", "{\"id\":1}", "{\"id\":1,\"status\":\"paid\"}", 100, "tx1", 1);
        assertThat(ordersOutput()).as("tx2 is complete but tx1 committed first").isEmpty();
        change(items, "order_items", "{\"order_id\":1,\"line\":1}", "{\"order_id\":1,\"line\":1}", 101, "tx1", 2);
        assertThat(ordersOutput()).containsExactly("orders:{id:1}", "order_items:{order_id:1,line:1}", "COMMIT tx1(2)",
                "orders:{id:2}", "COMMIT tx2(1)");
    }

    @Test
    void filteredChangesCountTowardTheEndAndPerRowTablesDoNotWait() {
        change(orders, "orders", "{\"id\":3}", "{\"id\":3,\"status\":\"draft\"}", 300, "tx3", 1);
        assertThat(auditApply.readValuesToList()).as("per-row service gets the row at once").hasSize(1);
        change(items, "order_items", "{\"order_id\":3,\"line\":1}", "{\"order_id\":3,\"line\":1}", 301, "tx3", 2);
        end("tx3", 2);
        assertThat(ordersOutput()).containsExactly("order_items:{order_id:3,line:1}", "COMMIT tx3(1)");
    }

    @Test
    void aReplayedTransactionIsNotEmittedTwice() {
        change(orders, "orders", "{\"id\":4}", "{\"id\":4,\"status\":\"paid\"}", 400, "tx4", 1);
        end("tx4", 1);
        assertThat(ordersOutput()).containsExactly("orders:{id:4}", "COMMIT tx4(1)");
        // a capture restart sends the transaction again
        change(orders, "orders", "{\"id\":4}", "{\"id\":4,\"status\":\"paid\"}", 400, "tx4", 1);
        end("tx4", 1);
        change(orders, "orders", "{\"id\":5}", "{\"id\":5,\"status\":\"paid\"}", 500, "tx5", 1);
        end("tx5", 1);
        assertThat(ordersOutput()).containsExactly("orders:{id:5}", "COMMIT tx5(1)");
    }

    @Test
    void anIncompleteTransactionIsReportedAfterTheTimeoutAndDoesNotBlockTheNext() throws Exception {
        end("tx6", 2);
        change(orders, "orders", "{\"id\":6}", "{\"id\":6,\"status\":\"paid\"}", 600, "tx6", 1);
        change(orders, "orders", "{\"id\":7}", "{\"id\":7,\"status\":\"paid\"}", 700, "tx7", 1);
        end("tx7", 1);
        assertThat(ordersOutput()).isEmpty();
        driver.advanceWallClockTime(Duration.ofSeconds(40));
        assertThat(ordersOutput()).containsExactly("orders:{id:6}", "COMMIT tx6(1)", "orders:{id:7}", "COMMIT tx7(1)");
        JsonNode letter = Json.mapper().readTree(deadLetters.readValuesToList().get(0));
        assertThat(letter.get("reason").asText()).contains("source transaction tx6 is incomplete after 30 s", "END says 2 changes, 1 arrived");
        assertThat(metrics.get("strangler.sync.transactions.incomplete").counter().count()).isEqualTo(1.0);
    }

    @Test
    void aTransactionOfOnlyTheSignallingTableDoesNotHoldTheNext() {
        // an incremental snapshot's window mark: Debezium announces the signalling table's row, which is not published
        transactions.pipeInput(b("{\"id\":\"tx8\"}"), b("{\"status\":\"END\",\"id\":\"tx8\",\"event_count\":1,"
                + "\"data_collections\":[{\"data_collection\":\"public.strangler_signal\",\"event_count\":1}],\"ts_ms\":1}"));
        change(orders, "orders", "{\"id\":9}", "{\"id\":9,\"status\":\"paid\"}", 900, "tx9", 1);
        end("tx9", 1);
        assertThat(ordersOutput()).as("no wait for the timeout").containsExactly("orders:{id:9}", "COMMIT tx9(1)");
        assertThat(metrics.get("strangler.sync.transactions.incomplete").counter().count()).isZero();
    }

    /** The sequencer store's changelog as "key" (a put) and "-key" (a tombstone), in order. */
    private List<String> sequencerChangelog() {
        List<String> out = new ArrayList<>();
        TestOutputTopic<byte[], byte[]> changelog = driver.createOutputTopic("test-" + SyncTopology.SEQUENCER_STORE + "-changelog",
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        for (TestRecord<byte[], byte[]> r : changelog.readRecordsToList()) {
            out.add((r.value() == null ? "-" : "") + new String(r.key(), StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void onlyTransactionsStillPendingAtACommitReachTheChangelogAndLeaveItWhenEmitted() {
        // the test driver commits after every input record: the commit hook runs each time
        end("tx8", 1);
        change(orders, "orders", "{\"id\":8}", "{\"id\":8,\"status\":\"paid\"}", 800, "tx8", 1);
        assertThat(sequencerChangelog()).as("tx8 was pending at the first commit (its END), complete before the second")
                .containsExactly("x|tx8", "-x|tx8", "c|tx8");

        change(orders, "orders", "{\"id\":9}", "{\"id\":9,\"status\":\"paid\"}", 900, "tx9", 1);
        assertThat(sequencerChangelog()).as("a pending change is in the store when the offsets past it are committed")
                .containsExactly("e|tx9|000000");
        end("tx9", 1);
        assertThat(ordersOutput()).containsExactly("orders:{id:8}", "COMMIT tx8(1)", "orders:{id:9}", "COMMIT tx9(1)");
        assertThat(sequencerChangelog()).containsExactly("-e|tx9|000000", "c|tx9");
    }

    @Test
    void aReplayIsRecognisedByItsCommitPositionWithoutRememberingEveryTransaction() {
        // PostgreSQL ids carry the LSN: "xid:lsn"; the END's is where the transaction committed
        change(orders, "orders", "{\"id\":10}", "{\"id\":10,\"status\":\"paid\"}", 1000, "500:1000", 1);
        end("500:1010", 1);
        assertThat(ordersOutput()).containsExactly("orders:{id:10}", "COMMIT 500(1)");
        assertThat(sequencerChangelog()).as("a watermark, not an entry per transaction").contains("w").doesNotContain("c|500");

        // a capture restart sends it again, then a new transaction follows
        change(orders, "orders", "{\"id\":10}", "{\"id\":10,\"status\":\"paid\"}", 1000, "500:1000", 1);
        end("500:1010", 1);
        change(orders, "orders", "{\"id\":11}", "{\"id\":11,\"status\":\"paid\"}", 1020, "501:1020", 1);
        end("501:1030", 1);
        assertThat(ordersOutput()).containsExactly("orders:{id:11}", "COMMIT 501(1)");
        assertThat(metrics.get("strangler.sync.transactions.pending").gauge().value()).isZero();
    }

    /** A TRUNCATE of two tables is one WAL record: both events carry its position, numbered in the capture's order. */
    private void truncate(TestInputTopic<byte[], byte[]> topic, String table, long lsn, String tx, long order) {
        topic.pipeInput(null, b("{\"before\":null,\"after\":null,\"source\":{\"schema\":\"public\",\"table\":\"" + table
                + "\",\"lsn\":" + lsn + ",\"ts_us\":" + lsn + "},\"op\":\"t\",\"transaction\":{\"id\":\"" + tx
                + "\",\"total_order\":" + order + ",\"data_collection_order\":1}}"));
    }

    @Test
    void aTruncateOfTwoTablesAtOnePositionCompletesItsTransactionAndTruncatesBoth() {
        change(orders, "orders", "{\"id\":9}", "{\"id\":9,\"status\":\"paid\"}", 3000, "700:3000", 1);
        // the capture numbers orders 2 and order_items 3; by name order_items sorts first
        truncate(orders, "orders", 3010, "700:3010", 2);
        truncate(items, "order_items", 3010, "700:3010", 3);
        change(orders, "orders", "{\"id\":10}", "{\"id\":10,\"status\":\"paid\"}", 3020, "700:3020", 4);
        end("700:3030", 4);
        assertThat(ordersOutput()).containsExactly("orders:{id:9}", "order_items:{}", "orders:{}", "orders:{id:10}", "COMMIT 700(4)");
    }

    @Test
    void anUpdateOfAPrimaryKeyComesAsADeleteAndACreateAtOnePositionAndBothAreApplied() {
        // UPDATE orders SET id = 40 WHERE id = 4: one WAL record, sent as a delete of 4 and a create of 40
        orders.pipeInput(b("{\"id\":4}"), b("{\"before\":{\"id\":4},\"after\":null,\"source\":{\"schema\":\"public\",\"table\":\"orders\","
                + "\"lsn\":4000,\"ts_us\":4000},\"op\":\"d\",\"transaction\":{\"id\":\"800:4000\",\"total_order\":1,\"data_collection_order\":1}}"));
        change(orders, "orders", "{\"id\":40}", "{\"id\":40,\"status\":\"paid\"}", 4000, "800:4000", 2);
        end("800:4010", 2);
        assertThat(ordersOutput()).containsExactly("orders:{id:4}", "orders:{id:40}", "COMMIT 800(2)");
        assertThat(metrics.get("strangler.sync.transactions.pending").gauge().value()).isZero();
    }

    @Test
    void aCaptureRestartedMidTransactionAnnouncesOnlyWhatItSentAgainAndTheRestIsAwaited() {
        // first capture session: three changes of transaction 600, then the capture dies before the END
        change(items, "order_items", "{\"order_id\":6,\"line\":1}", "{\"order_id\":6,\"line\":1}", 2000, "600:2000", 1);
        change(items, "order_items", "{\"order_id\":6,\"line\":2}", "{\"order_id\":6,\"line\":2}", 2001, "600:2001", 2);
        change(items, "order_items", "{\"order_id\":6,\"line\":3}", "{\"order_id\":6,\"line\":3}", 2002, "600:2002", 3);
        // the restarted capture resumes at the third change, counts from 1, and its END (2 changes) is read first
        end("600:2010", 2);
        assertThat(ordersOutput()).as("three changes are here, but not the last one the END counts").isEmpty();
        change(items, "order_items", "{\"order_id\":6,\"line\":3}", "{\"order_id\":6,\"line\":3}", 2002, "600:2002", 1);
        assertThat(ordersOutput()).isEmpty();
        change(items, "order_items", "{\"order_id\":6,\"line\":4}", "{\"order_id\":6,\"line\":4}", 2003, "600:2003", 2);
        assertThat(ordersOutput()).containsExactly("order_items:{order_id:6,line:1}", "order_items:{order_id:6,line:2}",
                "order_items:{order_id:6,line:3}", "order_items:{order_id:6,line:4}", "COMMIT 600(4)");
    }
}
