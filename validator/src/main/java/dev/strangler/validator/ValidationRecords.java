package dev.strangler.validator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Json;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON the validator writes: one report per table (for {@code strangler validate --json} and the
 * {@code <prefix>.validation} topic), and the topic's value per table, which holds the last finished
 * report and, while a pass runs, its checkpoint.
 */
public final class ValidationRecords {

    private ValidationRecords() {
    }

    public static ObjectNode report(TableReport r) {
        ObjectNode t = Json.mapper().createObjectNode();
        t.put("service", r.service());
        t.put("table", r.table());
        t.put("sourceTable", r.sourceTable());
        t.put("consistent", r.consistent());
        t.put("sourceRows", r.sourceRows());
        t.put("targetRows", r.targetRows());
        t.put("matchingRatio", r.matchingRatio());
        t.put("missing", r.missing());
        t.put("extra", r.extra());
        t.put("different", r.different());
        t.put("inFlight", r.inFlight());
        t.put("segments", r.segments());
        t.put("segmentsSplit", r.segmentsSplit());
        t.put("durationMs", r.duration().toMillis());
        t.put("finishedAt", r.finishedAt().toString());
        t.set("sample", drifts(r.sample()));
        return t;
    }

    private static ArrayNode drifts(List<Drift> drifts) {
        ArrayNode sample = Json.mapper().createArrayNode();
        for (Drift d : drifts) {
            ObjectNode s = sample.addObject();
            s.put("kind", d.kind().name().toLowerCase());
            ObjectNode key = s.putObject("key");
            d.key().forEach(key::put);
            if (!d.columns().isEmpty()) {
                ArrayNode columns = s.putArray("columns");
                d.columns().forEach(columns::add);
            }
        }
        return sample;
    }

    private static List<Drift> drifts(JsonNode sample) {
        List<Drift> out = new ArrayList<>();
        for (JsonNode s : sample) {
            Map<String, String> key = new LinkedHashMap<>();
            s.get("key").fields().forEachRemaining(e -> key.put(e.getKey(), e.getValue().asText()));
            List<String> columns = new ArrayList<>();
            s.path("columns").forEach(c -> columns.add(c.asText()));
            out.add(new Drift(Drift.Kind.valueOf(s.get("kind").asText().toUpperCase()), key, columns));
        }
        return out;
    }

    public static TableReport reportFrom(JsonNode t) {
        return new TableReport(t.get("service").asText(), t.get("table").asText(), t.get("sourceTable").asText(), t.get("sourceRows").asLong(),
                t.get("targetRows").asLong(), t.get("segments").asInt(), t.get("segmentsSplit").asInt(), t.get("missing").asLong(),
                t.get("extra").asLong(), t.get("different").asLong(), t.get("inFlight").asLong(), drifts(t.get("sample")),
                Duration.ofMillis(t.get("durationMs").asLong()), Instant.parse(t.get("finishedAt").asText()));
    }

    /** The validation topic's value for a table: the last finished report and the running pass's checkpoint. */
    public record TableState(Optional<TableReport> last, Optional<Checkpoint> running) {
    }

    public static byte[] state(TableState state) {
        ObjectNode root = Json.mapper().createObjectNode();
        state.last().ifPresent(r -> root.set("last", report(r)));
        state.running().ifPresent(c -> {
            ObjectNode running = root.putObject("running");
            if (c.after() != null) {
                ArrayNode after = running.putArray("after");
                c.after().forEach(after::add);
            }
            running.put("startedAt", c.startedAt().toString());
            running.put("sourceRows", c.sourceRows());
            running.put("targetRows", c.targetRows());
            running.put("segments", c.segments());
            running.put("segmentsSplit", c.segmentsSplit());
            running.put("missing", c.missing());
            running.put("extra", c.extra());
            running.put("different", c.different());
            running.put("inFlight", c.inFlight());
            running.set("sample", drifts(c.sample()));
        });
        try {
            return Json.mapper().writeValueAsBytes(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Publishes finished reports (key {@code service/table}) to the validation topic, creating it if needed,
     * and waits until Kafka has them.
     */
    public static void publish(dev.strangler.connectors.KafkaEndpoint kafka, String topic, List<TableReport> reports) {
        new dev.strangler.connectors.KafkaTopics(kafka).ensureCompacted(java.util.Set.of(topic));
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<>(kafka.clientConfig(Map.of("client.id", "strangler-validate",
                "acks", "all")), new org.apache.kafka.common.serialization.StringSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            for (TableReport r : reports) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, r.service() + "/" + r.table(),
                        state(new TableState(Optional.of(r), Optional.empty()))));
            }
            producer.flush();
        }
    }

    public static TableState stateFrom(byte[] value) {
        try {
            JsonNode root = Json.mapper().readTree(value);
            Optional<TableReport> last = root.has("last") ? Optional.of(reportFrom(root.get("last"))) : Optional.empty();
            Optional<Checkpoint> running = Optional.empty();
            if (root.has("running")) {
                JsonNode c = root.get("running");
                List<String> after = null;
                if (c.has("after")) {
                    after = new ArrayList<>();
                    for (JsonNode k : c.get("after")) {
                        after.add(k.asText());
                    }
                }
                running = Optional.of(new Checkpoint(after, Instant.parse(c.get("startedAt").asText()), c.get("sourceRows").asLong(),
                        c.get("targetRows").asLong(), c.get("segments").asInt(), c.get("segmentsSplit").asInt(), c.get("missing").asLong(),
                        c.get("extra").asLong(), c.get("different").asLong(), c.get("inFlight").asLong(), drifts(c.get("sample"))));
            }
            return new TableState(last, running);
        } catch (java.io.IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a validation record: " + e.getMessage(), e);
        }
    }
}
