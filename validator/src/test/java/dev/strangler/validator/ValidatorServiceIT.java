package dev.strangler.validator;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The validator service on a real broker and real PostgreSQL: reports on the validation topic and in
 * metrics, drift found on a later pass, and a pass cut short (the service stopped mid-pass) resumed
 * from its checkpoint by the next service.
 */
class ValidatorServiceIT {

    private static EmbeddedKafka kafka;
    private static EmbeddedPostgres postgres;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.startTemporary();
        postgres = EmbeddedPostgres.start();
    }

    @AfterAll
    static void stop() {
        kafka.close();
        postgres.close();
    }

    private static StranglerConfig config(String prefix, String monolithDb, String serviceDb, String validatorYaml) {
        return new ConfigLoader(k -> null, Path.of(System.getProperty("java.io.tmpdir"))).parse("""
                kafka: {bootstrap: "%s", topicPrefix: %s}
                monolith: {url: "%s", user: postgres, password: postgres}
                services:
                  svc:
                    url: "%s"
                    user: postgres
                    password: postgres
                    tables: [public.accounts]
                validator:
                %s
                """.formatted(kafka.bootstrapServers(), prefix, postgres.jdbcUrl(monolithDb), postgres.jdbcUrl(serviceDb),
                validatorYaml.stripIndent().indent(2)), "test");
    }

    private static ValidatorService service(StranglerConfig config, SimpleMeterRegistry metrics) {
        KafkaEndpoint endpoint = new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1);
        return new ValidatorService(config.monolith(), config.serviceList(), config.validator(), endpoint, config.topics(), metrics,
                Clock.systemUTC());
    }

    /** The validation topic's latest value per key. */
    private static Map<String, ValidationRecords.TableState> topic(String name) {
        Map<String, ValidationRecords.TableState> out = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(name, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            while (consumer.position(tp) < end) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.put(r.key(), ValidationRecords.stateFrom(r.value()));
                }
            }
        }
        return out;
    }

    private static final String TABLE = "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric(12,2))";

    /** A monolith and a service database holding the same {@code rows} accounts. */
    private static void identicalAccounts(String monolithDb, String serviceDb, int rows) {
        for (String db : List.of(monolithDb, serviceDb)) {
            postgres.createDatabase(db);
            postgres.execute(db, TABLE, "INSERT INTO accounts SELECT g, 'owner ' || g, g FROM generate_series(1, " + rows + ") g");
        }
    }

    @Test
    void reportsEachPassOnTheTopicAndInMetricsAndFindsDriftOnTheNext() {
        identicalAccounts("vs_mono1", "vs_svc1", 5000);
        StranglerConfig config = config("vs1", "vs_mono1", "vs_svc1", "interval: 2s\nrecheckAfter: 200ms\nsegmentRows: 1000\n");
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        ValidatorService validator = service(config, metrics);
        validator.start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> validator.latestReports().containsKey("svc/public.accounts"));
            TableReport first = validator.latestReports().get("svc/public.accounts");
            assertThat(first.consistent()).isTrue();
            assertThat(first.sourceRows()).isEqualTo(5000);
            assertThat(topic("vs1.validation").get("svc/public.accounts").last()).hasValueSatisfying(r -> assertThat(r.consistent()).isTrue());
            assertThat(metrics.get("strangler.validation.consistency.ratio").gauge().value()).isEqualTo(1.0);
            assertThat(metrics.get("strangler.validation.rows.checked").counter().count()).isGreaterThanOrEqualTo(5000);

            postgres.execute("vs_svc1", "DELETE FROM accounts WHERE id = 4242");
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !validator.latestReports().get("svc/public.accounts").consistent());
            TableReport drift = validator.latestReports().get("svc/public.accounts");
            assertThat(drift.sample()).extracting(Drift::toString).containsExactly("missing {id=4242}");
            assertThat(metrics.get("strangler.validation.drifted.rows").gauge().value()).isEqualTo(1.0);
            assertThat(metrics.get("strangler.validation.last.pass.age.seconds").gauge().value()).isLessThan(60);
        } finally {
            validator.stop();
        }
    }

    @Test
    void aPassCutShortResumesFromItsCheckpoint() {
        identicalAccounts("vs_mono2", "vs_svc2", 20000);
        postgres.execute("vs_svc2", "UPDATE accounts SET owner = 'early' WHERE id = 10", "UPDATE accounts SET owner = 'late' WHERE id = 19990");
        // slow on purpose: 100-row segments at 2,000 rows/s, a checkpoint every 20 segments (2,000 rows, about a second)
        StranglerConfig config = config("vs2", "vs_mono2", "vs_svc2", "interval: 1h\nrecheckAfter: 100ms\nsegmentRows: 100\nmaxRowsPerSecond: 2000\n");
        ValidatorService first = service(config, new SimpleMeterRegistry());
        first.start();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
                topic("vs2.validation").getOrDefault("svc/public.accounts", new ValidationRecords.TableState(java.util.Optional.empty(),
                        java.util.Optional.empty())).running().map(c -> c.sourceRows() >= 4000).orElse(false));
        first.stop();
        Checkpoint cut = topic("vs2.validation").get("svc/public.accounts").running().orElseThrow();
        assertThat(cut.different()).as("drift before the checkpoint is already confirmed").isEqualTo(1);
        assertThat(cut.sourceRows()).isLessThan(20_000);

        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        StranglerConfig unlimited = config("vs2", "vs_mono2", "vs_svc2", "interval: 1h\nrecheckAfter: 100ms\nsegmentRows: 100\nmaxRowsPerSecond: 0\n");
        ValidatorService second = service(unlimited, metrics);
        second.start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> second.latestReports().containsKey("svc/public.accounts")
                    && second.latestReports().get("svc/public.accounts").finishedAt().isAfter(cut.startedAt()));
            TableReport report = second.latestReports().get("svc/public.accounts");
            assertThat(report.sourceRows()).isEqualTo(20_000);
            assertThat(report.sample()).extracting(Drift::toString).containsExactlyInAnyOrder("different {id=10} [owner]", "different {id=19990} [owner]");
            assertThat(metrics.get("strangler.validation.rows.checked").counter().count())
                    .as("the second service compared only what the first had not").isLessThanOrEqualTo(20_000 - cut.sourceRows() + 200);
        } finally {
            second.stop();
        }
    }

    @Test
    void withRepairAutoTheDriftOfAPassIsSentToTheApplyTopic() {
        identicalAccounts("vs_mono3", "vs_svc3", 2000);
        postgres.execute("vs_svc3", "DELETE FROM accounts WHERE id = 5", "INSERT INTO accounts VALUES (7777, 'ghost', 0)");
        StranglerConfig config = new ConfigLoader(k -> null, Path.of(System.getProperty("java.io.tmpdir"))).parse("""
                kafka: {bootstrap: "%s", topicPrefix: vs3}
                monolith: {url: "%s", user: postgres, password: postgres}
                services:
                  svc:
                    url: "%s"
                    user: postgres
                    password: postgres
                    tables: [{from: public.accounts, repair: auto}]
                validator: {interval: 1h, recheckAfter: 100ms}
                """.formatted(kafka.bootstrapServers(), postgres.jdbcUrl("vs_mono3"), postgres.jdbcUrl("vs_svc3")), "test");
        new dev.strangler.connectors.KafkaTopics(new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1))
                .ensureLog(java.util.Set.of("vs3.apply.svc"), 1);
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        ValidatorService validator = service(config, metrics);
        validator.start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> metrics.find("strangler.validation.repaired.rows").counter() != null
                    && metrics.get("strangler.validation.repaired.rows").counter().count() == 2.0);
            List<String> applied = new java.util.ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                TopicPartition tp = new TopicPartition("vs3.apply.svc", 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> {
                        dev.strangler.core.ApplyRecord a = dev.strangler.core.ApplyRecord.fromBytes(r.value());
                        applied.add(a.action() + " " + a.key() + (a.row() == null ? "" : " " + a.row().get("owner").asText()));
                    });
                    return applied.size() >= 2;
                });
            }
            assertThat(applied).containsExactlyInAnyOrder("UPSERT {\"id\":\"5\"} owner 5", "DELETE {\"id\":\"7777\"}");
        } finally {
            validator.stop();
        }
    }
}
