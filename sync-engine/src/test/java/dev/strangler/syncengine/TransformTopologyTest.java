package dev.strangler.syncengine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.Json;
import dev.strangler.core.Mask;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigException;
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
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Derived columns, casts, masks and row rules on the way from the monolith to a service. */
class TransformTopologyTest {

    private static final String KEY = "a-test-key-of-32-characters-----";

    private static String config(String onRuleViolation) {
        return """
                monolith: {url: "jdbc:postgresql://h/shop", user: u}
                sync: {maskKey: "%s"}
                services:
                  crm:
                    url: jdbc:postgresql://h/crm
                    user: u
                    tables:
                      - from: public.customers
                        consistency: per-row
                        columns: {ssn: null}
                        derive:
                          full_name: "first_name || ' ' || last_name"
                          total_cents: "round(total * 100)"
                        cast: {total: "numeric(10,1)", age: integer}
                        mask: {email: hash, phone: "partial(keep-last=4)", ssn: redact, nickname: "fake(name)"}
                        rules: ["email is not null", "age >= 0"]
                        onRuleViolation: %s
                """.formatted(KEY, onRuleViolation);
    }

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> customers;
    private TestOutputTopic<byte[], byte[]> apply;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    private void start(String onRuleViolation) {
        StranglerConfig config = new ConfigLoader(k -> null, Path.of("/tmp")).parse(config(onRuleViolation), "test");
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/strangler-ttd-" + System.nanoTime());
        driver = new TopologyTestDriver(SyncTopology.build(SyncPlan.fromConfig(config), java.time.Duration.ofSeconds(60), true, metrics), props);
        TopicNames topics = config.topics();
        customers = driver.createInputTopic(topics.cdc(TopicNames.MONOLITH_ORIGIN, TableId.parse("public.customers")),
                new ByteArraySerializer(), new ByteArraySerializer());
        apply = driver.createOutputTopic(topics.apply("crm"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(topics.deadLetters(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.close();
        }
    }

    private void change(long lsn, int id, String after) {
        String value = "{\"before\":null,\"after\":" + after + ",\"source\":{\"schema\":\"public\",\"table\":\"customers\",\"lsn\":" + lsn
                + ",\"ts_us\":" + lsn + "},\"op\":\"u\"}";
        customers.pipeInput(("{\"id\":" + id + "}").getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    private static String row(int id, String email, String age, String total) {
        return "{\"id\":" + id + ",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"email\":" + email + ",\"phone\":\"+44 20 7946 0958\","
                + "\"ssn\":\"123-45-6789\",\"nickname\":\"Countess\",\"age\":" + age + ",\"total\":" + total + "}";
    }

    @Test
    void derivesCastsAndMasksOnTheWayToTheService() {
        start("dead-letter");
        change(10, 1, row(1, "\"ada@example.com\"", "\"36\"", "\"12.345\""));
        List<ApplyRecord> out = apply.readValuesToList().stream().map(ApplyRecord::fromBytes).toList();
        assertThat(out).hasSize(1);
        JsonNode r = out.get(0).row();
        assertThat(r.get("full_name").asText()).isEqualTo("Ada Lovelace");
        assertThat(r.get("total_cents").asText()).as("derived from the monolith's value, before the cast").isEqualTo("1235");
        assertThat(r.get("total").asText()).isEqualTo("12.3");
        assertThat(r.get("age").isIntegralNumber()).isTrue();
        assertThat(r.get("age").asLong()).isEqualTo(36);
        assertThat(r.get("email").asText()).isEqualTo(Mask.hmacHex(KEY.getBytes(StandardCharsets.UTF_8), "ada@example.com")).hasSize(64);
        assertThat(r.get("phone").asText()).isEqualTo("************0958");
        assertThat(r.has("ssn")).as("dropped by columns: it stays dropped").isFalse();
        assertThat(r.get("nickname").asText()).matches("[A-Z][a-z]+ [A-Z][a-z]+").isNotEqualTo("Countess");
        assertThat(r.get("first_name").asText()).isEqualTo("Ada");
    }

    @Test
    void masksAreStableAcrossRunsAndDifferentValuesStayDifferent() {
        start("dead-letter");
        change(10, 1, row(1, "\"ada@example.com\"", "1", "\"1\""));
        change(20, 2, row(2, "\"ada@example.com\"", "1", "\"1\""));
        change(30, 3, row(3, "\"bob@example.com\"", "1", "\"1\""));
        List<String> emails = apply.readValuesToList().stream().map(ApplyRecord::fromBytes).map(a -> a.row().get("email").asText()).toList();
        assertThat(emails.get(0)).isEqualTo(emails.get(1)).isNotEqualTo(emails.get(2));
        driver.close();
        start("dead-letter");
        change(40, 4, row(4, "\"ada@example.com\"", "1", "\"1\""));
        assertThat(ApplyRecord.fromBytes(apply.readValue()).row().get("email").asText()).as("a restarted engine, same key").isEqualTo(emails.get(0));
    }

    @Test
    void aRowThatBreaksARuleGoesToTheDeadLetterTopicNamingTheRule() throws Exception {
        start("dead-letter");
        change(10, 1, row(1, "null", "30", "\"1\""));
        change(20, 2, row(2, "\"x@example.com\"", "-1", "\"1\""));
        change(30, 3, row(3, "\"y@example.com\"", "null", "\"1\""));
        assertThat(apply.readValuesToList()).as("only the row with a NULL age passes: an unknown rule holds, as a CHECK does").hasSize(1);
        List<String> reasons = deadLetters.readValuesToList().stream().map(v -> {
            try {
                return Json.mapper().readTree(v).get("reason").asText();
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }).toList();
        assertThat(reasons).hasSize(2);
        assertThat(reasons.get(0)).contains("breaks rule 'email is not null'");
        assertThat(reasons.get(1)).contains("breaks rule 'age >= 0'");
        assertThat(metrics.get(MetricNames.SYNC_RULE_VIOLATIONS).tag(MetricNames.TAG_RULE, "age >= 0").counter().count()).isEqualTo(1.0);
    }

    @Test
    void aDroppedRowIsCountedAndNotCarried() {
        start("drop");
        change(10, 1, row(1, "null", "30", "\"1\""));
        assertThat(apply.readValuesToList()).isEmpty();
        assertThat(deadLetters.readValuesToList()).isEmpty();
        assertThat(metrics.get(MetricNames.SYNC_RULE_VIOLATIONS).tag(MetricNames.TAG_ACTION, "drop").counter().count()).isEqualTo(1.0);
    }

    @Test
    void onRuleViolationStopStopsTheEngineNamingTheRule() {
        start("stop");
        assertThatThrownBy(() -> change(10, 1, row(1, "null", "30", "\"1\""))).hasStackTraceContaining("breaks rule 'email is not null'")
                .hasStackTraceContaining("onRuleViolation: stop");
    }

    @Test
    void aValueThatDoesNotConvertIsADeadLetterWithTheValueAndReason() throws Exception {
        start("dead-letter");
        change(10, 1, row(1, "\"a@example.com\"", "\"thirty\"", "\"1\""));
        assertThat(apply.readValuesToList()).isEmpty();
        String reason = Json.mapper().readTree(deadLetters.readValue()).get("reason").asText();
        assertThat(reason).contains("cast of age to integer", "invalid input syntax for type integer: 'thirty'");
    }

    @Test
    void theConfigRefusesWhatCannotWorkAndSaysWhy() {
        String bad = """
                monolith: {url: "jdbc:postgresql://h/shop", user: u}
                services:
                  crm:
                    url: jdbc:postgresql://h/crm
                    user: u
                    tables:
                      - from: public.customers
                        key: [id]
                        derive: {total_cents: "round(total *", stamp: "now()"}
                        cast: {id: bigint, amount: money}
                        mask: {email: hash, phone: "partial(keep=4)"}
                        rules: ["quantity >>= 0"]
                      - from: public.accounts
                        direction: two-way
                        mask: {email: redact}
                """;
        assertThatThrownBy(() -> new ConfigLoader(k -> null, Path.of("/tmp")).parse(bad, "test")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("derive.total_cents").hasMessageContaining("not deterministic")
                .hasMessageContaining("cast.id").hasMessageContaining("type money is not supported")
                .hasMessageContaining("is not a mask").hasMessageContaining("rules[0]")
                .hasMessageContaining("sync.maskKey").hasMessageContaining("cannot be inverted yet");
    }
}
