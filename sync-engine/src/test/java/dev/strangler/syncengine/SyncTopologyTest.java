package dev.strangler.syncengine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

class SyncTopologyTest {

    private static final String CONFIG = """
            monolith: {url: "jdbc:postgresql://h/shop", user: u}
            services:
              orders:
                url: jdbc:postgresql://h/orders
                user: u
                tables:
                  - from: public.orders
                    to: sales.orders
                    columns: {order_note: note, internal_flag: null}
                    where: "status <> 'draft'"
              billing:
                url: jdbc:postgresql://h/billing
                user: u
                tables:
                  - from: public.orders
                    columns: {order_note: null}
            """;

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> orders;
    private TestOutputTopic<byte[], byte[]> ordersApply;
    private TestOutputTopic<byte[], byte[]> billingApply;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void start() {
        StranglerConfig config = new ConfigLoader(k -> null, Path.of("/tmp")).parse(CONFIG, "test");
        SyncPlan plan = SyncPlan.fromConfig(config);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/strangler-ttd-" + System.nanoTime());
        driver = new TopologyTestDriver(SyncTopology.build(plan, java.time.Duration.ofSeconds(60), true, metrics), props);
        TopicNames topics = config.topics();
        orders = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, TableId.parse("public.orders")), new ByteArraySerializer(), new ByteArraySerializer());
        ordersApply = driver.createOutputTopic(topics.apply("orders"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        billingApply = driver.createOutputTopic(topics.apply("billing"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(topics.deadLetters(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void change(String op, long lsn, String key, String after) {
        String value = "{\"before\":" + (op.equals("d") ? key : "null") + ",\"after\":" + after
                + ",\"source\":{\"schema\":\"public\",\"table\":\"orders\",\"lsn\":" + lsn + ",\"ts_us\":" + lsn * 1000 + "},\"op\":\"" + op + "\"}";
        orders.pipeInput(key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    private static List<ApplyRecord> read(TestOutputTopic<byte[], byte[]> topic) {
        return topic.readValuesToList().stream().map(ApplyRecord::fromBytes).toList();
    }

    @Test
    void mapsEachChangeForEveryServiceThatReceivesTheTable() {
        change("r", 10, "{\"id\":1}", "{\"id\":1,\"status\":\"paid\",\"order_note\":\"n\",\"internal_flag\":false}");
        change("u", 20, "{\"id\":1}", "{\"id\":1,\"status\":\"shipped\",\"order_note\":\"n2\",\"internal_flag\":true}");

        List<ApplyRecord> toOrders = read(ordersApply);
        assertThat(toOrders).extracting(r -> r.row().toString()).containsExactly(
                "{\"id\":1,\"status\":\"paid\",\"note\":\"n\"}",
                "{\"id\":1,\"status\":\"shipped\",\"note\":\"n2\"}");
        assertThat(toOrders).extracting(ApplyRecord::table).containsOnly(TableId.parse("sales.orders"));
        assertThat(toOrders).extracting(ApplyRecord::version).as("snapshot rows are older than any streamed change").containsExactly(0L, 20L);

        List<ApplyRecord> toBilling = read(billingApply);
        assertThat(toBilling).extracting(r -> r.row().toString()).containsExactly(
                "{\"id\":1,\"status\":\"paid\",\"internal_flag\":false}",
                "{\"id\":1,\"status\":\"shipped\",\"internal_flag\":true}");
    }

    @Test
    void filteredRowsAreSkippedOrDeletedAndDeletesAreCarried() {
        change("c", 10, "{\"id\":2}", "{\"id\":2,\"status\":\"draft\"}");
        change("u", 20, "{\"id\":2}", "{\"id\":2,\"status\":\"placed\"}");
        change("u", 30, "{\"id\":2}", "{\"id\":2,\"status\":\"draft\"}");
        change("d", 40, "{\"id\":2}", "null");

        assertThat(read(ordersApply)).extracting(ApplyRecord::action, ApplyRecord::version).containsExactly(
                org.assertj.core.groups.Tuple.tuple(ApplyRecord.Action.UPSERT, 20L),
                org.assertj.core.groups.Tuple.tuple(ApplyRecord.Action.DELETE, 30L),
                org.assertj.core.groups.Tuple.tuple(ApplyRecord.Action.DELETE, 40L));
        assertThat(read(billingApply)).hasSize(4);
    }

    @Test
    void replayedChangesAreDroppedByVersion() {
        change("c", 10, "{\"id\":3}", "{\"id\":3,\"status\":\"placed\"}");
        change("d", 20, "{\"id\":3}", "null");
        // a capture restart sends both again: the row must not come back
        change("c", 10, "{\"id\":3}", "{\"id\":3,\"status\":\"placed\"}");
        change("d", 20, "{\"id\":3}", "null");

        assertThat(read(ordersApply)).extracting(ApplyRecord::version).containsExactly(10L, 20L);
        assertThat(metrics.get("strangler.sync.duplicates").counter().count()).isEqualTo(4.0);
    }

    @Test
    void unreadableRecordsGoToTheDeadLetterTopicWithTheReason() throws Exception {
        orders.pipeInput("k".getBytes(StandardCharsets.UTF_8), "{not json".getBytes(StandardCharsets.UTF_8));
        change("c", 50, "{\"id\":4}", "{\"id\":4,\"status\":\"placed\"}");

        List<byte[]> letters = deadLetters.readValuesToList();
        assertThat(letters).hasSize(1);
        JsonNode letter = Json.mapper().readTree(letters.get(0));
        assertThat(letter.get("component").asText()).isEqualTo("sync-engine");
        assertThat(letter.get("reason").asText()).contains("not JSON");
        assertThat(letter.get("value").asText()).isEqualTo("{not json");
        assertThat(letter.get("topic").asText()).isEqualTo("strangler.cdc.monolith.public.orders");
        assertThat(read(ordersApply)).hasSize(1);
        assertThat(Map.of("dlq", metrics.get("strangler.dead.letters").counter().count())).containsEntry("dlq", 1.0);
    }
}
