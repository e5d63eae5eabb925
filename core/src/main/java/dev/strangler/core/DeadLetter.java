package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A record that could not be parsed, mapped or written, as it goes to {@code <prefix>.dlq}: the original
 * record (as text), where it came from (topic, partition, offset, and the change's source version when
 * known), which component gave up on it, at which {@link Stage}, and why. Nothing is dropped silently:
 * every dead letter is also counted in {@link MetricNames#DEAD_LETTERS}. {@code strangler dlq replay}
 * sends replayable letters back where they failed (docs/operations.md, "Dead letters").
 *
 * <p>The topic also holds replay markers ({@link Replay}), written in the same Kafka transaction as the
 * replayed record, so a letter is replayed once.
 */
public record DeadLetter(String component, Stage stage, String reason, String topic, int partition, long offset, String table,
                         long sourceVersion, byte[] originalKey, byte[] originalValue) {

    /** A source version that is not known. */
    public static final long UNKNOWN_VERSION = -1;

    /** Where in the pipeline the record failed. */
    public enum Stage {
        /** the cdc record could not be read (not a Debezium envelope): not replayable */
        PARSE("parse", false),
        /** the change could not be mapped for a target (or no target receives its table): replayed to its cdc topic */
        MAP("map", true),
        /** a source transaction was incomplete after the timeout (informational): not replayable */
        TRANSACTION("transaction", false),
        /** the target database rejected the row, or it waited too long for its parent: replayed to its apply topic */
        WRITE("write", true);

        private final String label;
        private final boolean replayable;

        Stage(String label, boolean replayable) {
            this.label = label;
            this.replayable = replayable;
        }

        public String label() {
            return label;
        }

        public boolean replayable() {
            return replayable;
        }

        static Stage fromLabel(String label) {
            for (Stage s : values()) {
                if (s.label.equals(label)) {
                    return s;
                }
            }
            return PARSE;
        }
    }

    /** A marker on the dead-letter topic: the letter at {@code partition}/{@code offset} was replayed to {@code to}. */
    public record Replay(int partition, long offset, String to, String at) {

        public byte[] toBytes() {
            ObjectNode node = Json.mapper().createObjectNode();
            ObjectNode of = node.putObject("replayOf");
            of.put("partition", partition);
            of.put("offset", offset);
            node.put("to", to);
            node.put("at", at);
            return write(node);
        }
    }

    public byte[] toBytes() {
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("component", component);
        node.put("stage", stage.label());
        node.put("reason", reason);
        node.put("topic", topic);
        node.put("partition", partition);
        node.put("offset", offset);
        if (table != null) {
            node.put("table", table);
        }
        if (sourceVersion != UNKNOWN_VERSION) {
            node.put("sourceVersion", sourceVersion);
        }
        node.put("key", originalKey == null ? null : new String(originalKey, StandardCharsets.UTF_8));
        node.put("value", originalValue == null ? null : new String(originalValue, StandardCharsets.UTF_8));
        return write(node);
    }

    /** What a record of the dead-letter topic is: a letter, a replay marker, or neither (foreign). */
    public sealed interface Entry permits Letter, Marker, Foreign {
    }

    public record Letter(DeadLetter letter) implements Entry {
    }

    public record Marker(Replay replay) implements Entry {
    }

    public record Foreign(String reason) implements Entry {
    }

    /** Reads a record of the dead-letter topic. */
    public static Entry read(byte[] value) {
        JsonNode node;
        try {
            node = value == null ? null : Json.mapper().readTree(value);
        } catch (IOException e) {
            return new Foreign("not JSON");
        }
        if (node == null || !node.isObject()) {
            return new Foreign("not a JSON object");
        }
        if (node.has("replayOf")) {
            JsonNode of = node.get("replayOf");
            return new Marker(new Replay(of.path("partition").asInt(), of.path("offset").asLong(), node.path("to").asText(), node.path("at").asText()));
        }
        if (!node.has("component") || !node.has("reason")) {
            return new Foreign("not a dead letter (no component or reason)");
        }
        return new Letter(new DeadLetter(node.path("component").asText(), Stage.fromLabel(node.path("stage").asText("parse")),
                node.path("reason").asText(), node.path("topic").asText(), node.path("partition").asInt(), node.path("offset").asLong(),
                Optional.ofNullable(node.get("table")).filter(JsonNode::isTextual).map(JsonNode::asText).orElse(null),
                node.path("sourceVersion").asLong(UNKNOWN_VERSION), bytes(node.get("key")), bytes(node.get("value"))));
    }

    private static byte[] bytes(JsonNode text) {
        return text == null || text.isNull() ? null : text.asText().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] write(ObjectNode node) {
        try {
            return Json.mapper().writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise a dead letter", e);
        }
    }
}
