package dev.strangler.connectors;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.ComponentState;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedMariaDb;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The writer into a real MariaDB service from a real broker: a table created from a PostgreSQL source with
 * every common type (values as the capture sends them), the version guard (an older upsert or delete changes
 * nothing), a child row before its parent (parked, then written; MariaDB checks keys at once), and a restart
 * that resumes at the offsets stored in MariaDB (triggers log every write, a replayed no-op included: nothing
 * is written twice), and a column the MariaDB monolith added followed by the service table (the DDL outside the
 * writer's transaction, which MariaDB would commit).
 */
class MariaDbWriterIT {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final TableId CUSTOMERS = new TableId("svc", "customers");
    private static final TableId ORDERS = new TableId("svc", "orders");
    private static final TableId KINDS = new TableId("svc", "kinds");

    @Test
    void writesEveryTypeGuardsVersionsParksChildrenAndResumesAtItsStoredOffsets() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(); EmbeddedMariaDb mariadb = EmbeddedMariaDb.start()) {
            mariadb.createDatabase("svc");
            mariadb.createDatabase("shop");
            mariadb.execute("shop", "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)");
            // hand-made service tables (no version column yet: the writer adds it); a trigger logs every write
            mariadb.execute("svc", "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
                    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, note VARCHAR(20), "
                            + "CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))",
                    "CREATE TABLE write_log (id INT, name VARCHAR(40), op VARCHAR(10))",
                    "CREATE TRIGGER log_insert AFTER INSERT ON customers FOR EACH ROW INSERT INTO write_log VALUES (NEW.id, NEW.name, 'INSERT')",
                    "CREATE TRIGGER log_update AFTER UPDATE ON customers FOR EACH ROW INSERT INTO write_log VALUES (NEW.id, NEW.name, 'UPDATE')");
            StranglerConfig config = new ConfigLoader(k -> null, Path.of("target")).parse("""
                    kafka: {bootstrap: "%s", topicPrefix: mw}
                    monolith: {type: mariadb, url: "%s", user: %s, password: %s}
                    services:
                      svc:
                        type: mariadb
                        url: "%s"
                        user: %s
                        password: %s
                        tables:
                          - {from: shop.customers, to: svc.customers}
                          - {from: shop.orders, to: svc.orders}
                          - {from: shop.kinds, to: svc.kinds}
                    """.formatted(kafka.bootstrapServers(), mariadb.jdbcUrl("shop"), EmbeddedMariaDb.USER, EmbeddedMariaDb.PASSWORD, mariadb.jdbcUrl("svc"), EmbeddedMariaDb.USER, EmbeddedMariaDb.PASSWORD), "test");
            ServiceSettings service = config.services().get("svc");
            TopicNames topics = config.topics();
            KafkaEndpoint endpoint = new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1);
            new KafkaTopics(endpoint).ensureLog(Set.of(topics.apply("svc"), topics.deadLetters()), 1);
            // the monolith's table with every common type, as its PostgreSQL catalog gives it
            TableSchema kinds = new TableSchema(new TableId("shop", "kinds"), List.of(
                    column("id", "bigint", "int8", false), column("placed", "timestamp with time zone", "timestamptz", true),
                    column("local", "timestamp(3) without time zone", "timestamp", true), column("day", "date", "date", true),
                    column("at", "time without time zone", "time", true), column("flag", "boolean", "bool", true),
                    column("amount", "numeric(12,3)", "numeric", true), column("big", "numeric", "numeric", true),
                    column("data", "bytea", "bytea", true), column("doc", "jsonb", "jsonb", true),
                    new ColumnSchema("tags", "text[]", "_text", true, true), column("uid", "uuid", "uuid", true),
                    column("note", "text", "text", true), column("ip", "inet", "inet", true),
                    column("waited", "interval", "interval", true), column("code", "character varying(8)", "varchar", true)), List.of("id"));

            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                JdbcApplyWriter writer = newWriter(config, service, kinds, endpoint, topics);
                writer.start();
                ObjectNode every = JSON.objectNode().put("id", 1).put("placed", "2024-02-29T13:45:30.123456Z")
                        .put("local", "2024-02-29T23:59:59.5").put("day", "2024-02-29").put("at", "13:45:30.25Z").put("flag", true)
                        .put("amount", "12345.678").put("big", "-98765432109876543210.0123456789").put("doc", "{\"a\": [1, 2]}")
                        .put("data", Base64.getEncoder().encodeToString(new byte[] {0, 1, (byte) 0xff}))
                        .put("uid", "0b6c3c1e-64b2-4f5c-9d4e-2f8c4a8e9b10").put("note", "ünïcode ∞ 'quoted'").put("ip", "192.168.0.1/32")
                        .put("waited", "P1DT2H").put("code", "ABC");
                every.putArray("tags").add("a").add("b,c").addNull();
                send(producer, topics, upsert(KINDS, every, 1));
                send(producer, topics, upsert(KINDS, JSON.objectNode().put("id", 2), 1));    // every other column NULL
                send(producer, topics, upsert(ORDERS, JSON.objectNode().put("id", 10).put("customer_id", 7).put("note", "child first"), 5));
                send(producer, topics, upsert(CUSTOMERS, JSON.objectNode().put("id", 7).put("name", "seven"), 6));
                send(producer, topics, upsert(CUSTOMERS, JSON.objectNode().put("id", 7).put("name", "newest"), 9));
                send(producer, topics, upsert(CUSTOMERS, JSON.objectNode().put("id", 7).put("name", "older"), 8));
                send(producer, topics, delete(ORDERS, 10, 4));
                Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                        assertThat(rows(mariadb, "SELECT id, customer_id, note, strangler_version FROM orders"))
                                .containsExactly(List.of("10", "7", "child first", "5")));
                assertThat(rows(mariadb, "SELECT id, name, strangler_version FROM customers")).containsExactly(List.of("7", "newest", "9"));
                assertThat(rows(mariadb, "SELECT CAST(placed AS CHAR), CAST(local AS CHAR), CAST(day AS CHAR), CAST(at AS CHAR), flag, "
                        + "CAST(amount AS CHAR), CAST(big AS CHAR), HEX(data), doc, tags, uid, note, ip, waited, code FROM kinds ORDER BY id"))
                        .containsExactly(
                                List.of("2024-02-29 13:45:30.123456", "2024-02-29 23:59:59.500000", "2024-02-29", "13:45:30.250000", "1",
                                        "12345.678", "-98765432109876543210.012345678900000000000000000000", "0001FF", "{\"a\": [1, 2]}",
                                        "[\"a\",\"b,c\",null]", "0b6c3c1e-64b2-4f5c-9d4e-2f8c4a8e9b10", "ünïcode ∞ 'quoted'", "192.168.0.1/32",
                                        "P1DT2H", "ABC"),
                                java.util.Arrays.asList(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));
                assertThat(rows(mariadb, "SELECT column_name, column_type FROM information_schema.columns WHERE table_schema = 'svc' "
                        + "AND table_name = 'kinds' AND column_name IN ('placed', 'amount', 'big', 'data', 'code', 'id') ORDER BY column_name"))
                        .containsExactly(List.of("amount", "decimal(12,3)"), List.of("big", "decimal(65,30)"), List.of("code", "varchar(8)"),
                                List.of("data", "longblob"), List.of("id", "bigint(20)"), List.of("placed", "datetime(6)"));
                List<List<String>> logged = rows(mariadb, "SELECT id, name, op FROM write_log");
                writer.stop();

                // restart: the new writer starts at the offsets stored in MariaDB and writes only the new row
                JdbcApplyWriter restarted = newWriter(config, service, kinds, endpoint, topics);
                restarted.start();
                send(producer, topics, upsert(CUSTOMERS, JSON.objectNode().put("id", 8).put("name", "eight"), 10));
                Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                        assertThat(rows(mariadb, "SELECT id, name FROM customers ORDER BY id")).containsExactly(List.of("7", "newest"), List.of("8", "eight")));
                List<List<String>> expectedLog = new ArrayList<>(logged);
                expectedLog.add(List.of("8", "eight", "INSERT"));
                assertThat(rows(mariadb, "SELECT id, name, op FROM write_log")).as("writes after the restart").isEqualTo(expectedLog);
                assertThat(rows(mariadb, "SELECT next_offset FROM strangler_offsets")).containsExactly(List.of("8"));
                assertThat(rows(mariadb, "SELECT count(*) FROM strangler_parked")).containsExactly(List.of("0"));
                assertThat(restarted.state()).isEqualTo(ComponentState.RUNNING);

                // the monolith gets a column: the first row carrying it makes the service table follow, then it is written
                mariadb.execute("shop", "ALTER TABLE customers ADD COLUMN tier VARCHAR(10)");
                send(producer, topics, upsert(CUSTOMERS, JSON.objectNode().put("id", 9).put("name", "nine").put("tier", "gold"), 11));
                Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                        assertThat(rows(mariadb, "SELECT id, name, tier FROM customers WHERE id = 9")).containsExactly(List.of("9", "nine", "gold")));
                assertThat(rows(mariadb, "SELECT column_type FROM information_schema.columns WHERE table_schema = 'svc' AND table_name = 'customers' "
                        + "AND column_name = 'tier'")).containsExactly(List.of("varchar(10)"));
                expectedLog.add(List.of("9", "nine", "INSERT"));
                assertThat(rows(mariadb, "SELECT id, name, op FROM write_log")).isEqualTo(expectedLog);
                assertThat(restarted.state()).isEqualTo(ComponentState.RUNNING);
                restarted.stop();
            }
        }
    }

    private static ColumnSchema column(String name, String type, String base, boolean nullable) {
        return new ColumnSchema(name, type, base, nullable, false);
    }

    private static JdbcApplyWriter newWriter(StranglerConfig config, ServiceSettings service, TableSchema kinds, KafkaEndpoint endpoint,
                                             TopicNames topics) {
        ServiceSettings creating = new ServiceSettings(service.name(), service.database(), service.tables(), true);
        return new JdbcApplyWriter(creating, JdbcApplyWriter.Options.SERVICE.followingSchemaOf(config.monolith()), Map.of(kinds.id(), kinds), new dev.strangler.core.config.WriterSettings(500,
                Duration.ofMillis(50), Duration.ofMinutes(5)), endpoint, topics, new SimpleMeterRegistry(), Clock.systemUTC(), ApplyListener.NONE);
    }

    private static ApplyRecord upsert(TableId table, ObjectNode row, long version) {
        ObjectNode key = JSON.objectNode().set("id", row.get("id"));
        return new ApplyRecord(table, ApplyRecord.Action.UPSERT, key, row, Set.of(), version, System.currentTimeMillis() * 1000, null);
    }

    private static ApplyRecord delete(TableId table, long id, long version) {
        return new ApplyRecord(table, ApplyRecord.Action.DELETE, JSON.objectNode().put("id", id), null, Set.of(), version,
                System.currentTimeMillis() * 1000, null);
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, TopicNames topics, ApplyRecord record) throws Exception {
        producer.send(new ProducerRecord<>(topics.apply("svc"), record.kafkaKeyBytes(), record.toBytes())).get();
    }

    private static List<List<String>> rows(EmbeddedMariaDb mariadb, String query) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        try (Connection c = mariadb.connect("svc"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }
}
