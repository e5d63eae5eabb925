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
}
