package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A record that could not be parsed, mapped or written, as it goes to {@code <prefix>.dlq}: the original
 * record (as text), where it came from, which component gave up on it and why. Nothing is dropped
 * silently: every dead letter is also counted in {@link MetricNames#DEAD_LETTERS}.
 */
public record DeadLetter(String component, String reason, String topic, int partition, long offset, String table,
                         byte[] originalKey, byte[] originalValue) {

    public byte[] toBytes() {
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("component", component);
        node.put("reason", reason);
        node.put("topic", topic);
        node.put("partition", partition);
        node.put("offset", offset);
        if (table != null) {
            node.put("table", table);
        }
        node.put("key", originalKey == null ? null : new String(originalKey, StandardCharsets.UTF_8));
        node.put("value", originalValue == null ? null : new String(originalValue, StandardCharsets.UTF_8));
        try {
            return Json.mapper().writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise a dead letter", e);
        }
    }
}
