package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The END of a source transaction, read from Debezium's transaction topic
 * ({@code <prefix>.cdc.<origin>.transaction}): how many captured changes it holds, in all and per table.
 * Transactions end on that topic in source commit order.
 *
 * @param commitPosition where the source committed the transaction, increasing in commit order (PostgreSQL:
 *                       the LSN Debezium appends to the id); {@link #UNKNOWN_POSITION} when the id has none
 */
public record TransactionEnd(String id, long eventCount, Map<String, Long> eventsPerTable, long commitPosition) {

    public static final long UNKNOWN_POSITION = -1;

    public TransactionEnd(String id, long eventCount, Map<String, Long> eventsPerTable) {
        this(id, eventCount, eventsPerTable, UNKNOWN_POSITION);
    }

    public TransactionEnd {
        eventsPerTable = Map.copyOf(eventsPerTable);
    }

    /**
     * @return the END event, or empty for a BEGIN event or a tombstone
     * @throws MalformedChangeException when the record is not a transaction event
     */
    public static Optional<TransactionEnd> parse(byte[] value) {
        if (value == null || value.length == 0) {
            return Optional.empty();
        }
        JsonNode node;
        try {
            node = Json.mapper().readTree(value);
        } catch (IOException e) {
            throw new MalformedChangeException("transaction event is not JSON: " + e.getMessage());
        }
        if (node != null && node.has("payload") && node.has("schema")) {
            node = node.get("payload");
        }
        if (node == null || !node.isObject() || !node.hasNonNull("status") || !node.hasNonNull("id")) {
            throw new MalformedChangeException("not a Debezium transaction event: 'status' and 'id' are required");
        }
        if (!"END".equals(node.get("status").asText())) {
            return Optional.empty();
        }
        Map<String, Long> perTable = new LinkedHashMap<>();
        node.path("data_collections").forEach(c -> perTable.put(c.path("data_collection").asText(), c.path("event_count").asLong()));
        String rawId = node.get("id").asText();
        String id = ChangeEvent.TransactionRef.normalize(rawId);
        long position = id.equals(rawId) ? UNKNOWN_POSITION : Long.parseLong(rawId.substring(rawId.indexOf(':') + 1));
        return Optional.of(new TransactionEnd(id, node.path("event_count").asLong(), perTable, position));
    }
}
