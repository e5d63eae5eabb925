package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.Optional;

/**
 * Reads the standard Debezium change envelope in JSON ({@code before, after, source, op}), with or
 * without the {@code schema}/{@code payload} wrapper, as written by Strangler's capture or by
 * Debezium on Kafka Connect with the JSON converter.
 */
public final class DebeziumEnvelope {

    private static final ObjectMapper JSON = Json.mapper();

    private DebeziumEnvelope() {
    }

    /**
     * @return the change, or empty for a tombstone (null value) or a heartbeat/schema-change record
     * @throws MalformedChangeException naming what is missing or wrong
     */
    public static Optional<ChangeEvent> parse(byte[] key, byte[] value) {
        if (value == null || value.length == 0) {
            return Optional.empty();
        }
        JsonNode envelope = unwrap(read(value, "value"));
        if (envelope == null || envelope.isNull()) {
            return Optional.empty();
        }
        JsonNode opNode = envelope.get("op");
        JsonNode source = envelope.get("source");
        if (opNode == null || source == null || !source.isObject()) {
            throw new MalformedChangeException("not a Debezium change envelope: 'op' and 'source' are required, found fields "
                    + fieldNames(envelope));
        }
        ChangeEvent.Op op;
        try {
            op = ChangeEvent.Op.fromCode(opNode.asText());
        } catch (IllegalArgumentException e) {
            throw new MalformedChangeException(e.getMessage());
        }
        TableId table = new TableId(text(source, "schema"), text(source, "table"));
        ObjectNode before = object(envelope.get("before"));
        ObjectNode after = object(envelope.get("after"));
        ObjectNode keyNode = key == null ? null : object(unwrap(read(key, "key")));
        if (keyNode == null) {
            keyNode = op == ChangeEvent.Op.DELETE ? before : after;
        }
        if (keyNode == null && op != ChangeEvent.Op.TRUNCATE) {
            throw new MalformedChangeException("change to " + table + " has neither a key nor a row image");
        }
        if (op != ChangeEvent.Op.DELETE && op != ChangeEvent.Op.TRUNCATE && after == null) {
            throw new MalformedChangeException("change '" + op.code() + "' to " + table + " has no 'after' row image");
        }
        return Optional.of(new ChangeEvent(table, op, keyNode, before, after, position(source, envelope, op)));
    }

    private static SourcePosition position(JsonNode source, JsonNode envelope, ChangeEvent.Op op) {
        long version;
        JsonNode lsn = source.get("lsn");
        if (op == ChangeEvent.Op.READ) {
            // A snapshot row is older than every streamed change of its key, which the topic always
            // holds after it. Its own LSN (the slot's consistent point) is not: a transaction that began
            // before that point and committed after it is streamed with smaller change LSNs.
            version = SourcePosition.SNAPSHOT_VERSION;
        } else if (lsn != null && lsn.canConvertToLong()) {
            version = lsn.asLong();
        } else if (source.has("file") && source.has("pos")) {
            version = binlogVersion(source.get("file").asText(), source.get("pos").asLong());
        } else {
            throw new MalformedChangeException("the change's source block has no position (lsn, or file and pos); fields: "
                    + fieldNames(source));
        }
        long micros;
        if (source.hasNonNull("ts_us")) {
            micros = source.get("ts_us").asLong();
        } else if (source.hasNonNull("ts_ms")) {
            micros = source.get("ts_ms").asLong() * 1000;
        } else {
            micros = envelope.path("ts_ms").asLong() * 1000;
        }
        String tx = source.hasNonNull("txId") ? source.get("txId").asText() : null;
        return new SourcePosition(version, micros, tx);
    }

    /** Orders MySQL/MariaDB binlog positions: the file's sequence number in the high bits, the offset below. */
    static long binlogVersion(String file, long pos) {
        int dot = file.lastIndexOf('.');
        long sequence = dot < 0 ? 0 : Long.parseLong(file.substring(dot + 1));
        return (sequence << 32) | (pos & 0xFFFFFFFFL);
    }

    private static JsonNode read(byte[] bytes, String what) {
        try {
            return JSON.readTree(bytes);
        } catch (IOException e) {
            throw new MalformedChangeException("the record's " + what + " is not JSON: " + e.getMessage());
        }
    }

    private static JsonNode unwrap(JsonNode node) {
        if (node != null && node.isObject() && node.has("payload") && node.has("schema")) {
            return node.get("payload");
        }
        return node;
    }

    private static ObjectNode object(JsonNode node) {
        return node instanceof ObjectNode o ? o : null;
    }

    private static String text(JsonNode source, String field) {
        JsonNode v = source.get(field);
        if (v == null || v.isNull() || v.asText().isEmpty()) {
            throw new MalformedChangeException("the change's source block has no '" + field + "'");
        }
        return v.asText();
    }

    private static String fieldNames(JsonNode node) {
        StringBuilder names = new StringBuilder("[");
        node.fieldNames().forEachRemaining(n -> names.append(names.length() > 1 ? ", " : "").append(n));
        return names.append(']').toString();
    }
}
