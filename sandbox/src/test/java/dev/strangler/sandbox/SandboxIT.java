package dev.strangler.sandbox;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SandboxIT {

    @Test
    void brokerKeepsRecordsAcrossARestartOnAPersistentDirectory(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startPersistent(dir, 0)) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
            }
            try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
                    new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>("t", "k", "v1")).get();
            }
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.startPersistent(dir, 0);
             var consumer = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers(),
                     "group.id", "g", "auto.offset.reset", "earliest"), new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of("t"));
            ConsumerRecords<String, String> records = ConsumerRecords.empty();
            for (int i = 0; i < 60 && records.isEmpty(); i++) {
                records = consumer.poll(Duration.ofMillis(500));
            }
            assertThat(records.iterator().next().value()).isEqualTo("v1");
        }
    }

    @Test
    void postgresHasLogicalDecodingOnAndSynchronousCommit() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.start()) {
            assertThat(pg.version()).startsWith("PostgreSQL 17");
            pg.createDatabase("shop");
            pg.createDatabase("shop");
            try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
                ResultSet rs = s.executeQuery("SELECT current_setting('wal_level'), current_setting('synchronous_commit')");
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("logical");
                assertThat(rs.getString(2)).isEqualTo("on");
            }
        }
    }

    @Test
    void mysqlRunsWithGtidsAndARowBinlog() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(EmbeddedMySql.unavailable().isEmpty(),
                () -> "no MySQL here: " + EmbeddedMySql.unavailable().orElse(""));
        try (EmbeddedMySql mysql = EmbeddedMySql.start()) {
            mysql.createDatabase("shop");
            mysql.execute("shop", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)");
            try (java.sql.Connection c = mysql.connect("shop"); java.sql.Statement s = c.createStatement();
                 java.sql.ResultSet rs = s.executeQuery("SELECT version(), @@gtid_mode, @@binlog_format, @@binlog_row_image, @@gtid_executed")) {
                rs.next();
                assertThat(rs.getString(1)).startsWith("8.0.31");
                assertThat(List.of(rs.getString(2), rs.getString(3), rs.getString(4))).containsExactly("ON", "ROW", "FULL");
                assertThat(rs.getString(5)).contains(":1-");
            }
        }
    }
}
