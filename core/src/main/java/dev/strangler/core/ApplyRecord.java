package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * One row to write into a service database: the value of a record on {@code <prefix>.apply.<service>}.
 * Columns are already named as in the target.
 *
 * @param key       the target primary key columns and values
 * @param row       the whole target row for {@link Action#UPSERT}; null for {@link Action#DELETE}
 * @param unchanged columns whose value the source did not send (PostgreSQL TOAST values an UPDATE
 *                  did not touch): the writer keeps the target's value for them
 * @param version   the source version of the change; the writer never replaces a newer one
 */
public record ApplyRecord(TableId table, Action action, ObjectNode key, ObjectNode row, Set<String> unchanged,
                          long version, long sourceCommitMicros, String transactionId) {

    /** What the writer does with the row. */
    public enum Action {
        /** insert the row, or update it when the key exists with an older version */
        UPSERT,
        /** delete the row with this key */
        DELETE
    }

    private static final ObjectMapper JSON = Json.mapper();

    public ApplyRecord {
        unchanged = unchanged == null ? Set.of() : Set.copyOf(unchanged);
        if (action == Action.UPSERT && row == null) {
            throw new IllegalArgumentException("an upsert of " + table + " needs a row");
        }
    }

    /** The Kafka record key: target table and primary key, so a key's changes stay on one partition. */
    public String kafkaKey() {
        return table + "|" + key;
    }

    public byte[] toBytes() {
        ObjectNode node = JSON.createObjectNode();
        node.put("table", table.toString());
        node.put("action", action.name().toLowerCase());
        node.set("key", key);
        if (row != null) {
            node.set("row", row);
        }
        if (!unchanged.isEmpty()) {
            ArrayNode list = node.putArray("unchanged");
            unchanged.forEach(list::add);
        }
        node.put("version", version);
        node.put("sourceCommitMicros", sourceCommitMicros);
        if (transactionId != null) {
            node.put("tx", transactionId);
        }
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise apply record for " + table, e);
        }
    }

    /** @throws MalformedChangeException naming what is wrong with the record */
    public static ApplyRecord fromBytes(byte[] bytes) {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new MalformedChangeException("apply record is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new MalformedChangeException("apply record is not a JSON object");
        }
        for (String field : new String[]{"table", "action", "key", "version"}) {
            if (!node.hasNonNull(field)) {
                throw new MalformedChangeException("apply record has no '" + field + "'");
            }
        }
        Action action;
        try {
            action = Action.valueOf(node.get("action").asText().toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new MalformedChangeException("apply record action '" + node.get("action").asText() + "' is not upsert or delete");
        }
        if (!(node.get("key") instanceof ObjectNode key)) {
            throw new MalformedChangeException("apply record key is not an object");
        }
        ObjectNode row = node.get("row") instanceof ObjectNode r ? r : null;
        if (action == Action.UPSERT && row == null) {
            throw new MalformedChangeException("apply record upsert has no 'row'");
        }
        Set<String> unchanged = new LinkedHashSet<>();
        node.path("unchanged").forEach(c -> unchanged.add(c.asText()));
        return new ApplyRecord(TableId.parse(node.get("table").asText()), action, key, row, unchanged,
                node.get("version").asLong(), node.path("sourceCommitMicros").asLong(),
                node.hasNonNull("tx") ? node.get("tx").asText() : null);
    }

    /** Bytes of {@link #kafkaKey()}. */
    public byte[] kafkaKeyBytes() {
        return kafkaKey().getBytes(StandardCharsets.UTF_8);
    }
}
