package dev.strangler.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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
        // streaming: one of these comes for every BEGIN and END of every source transaction
        try (JsonParser p = Json.mapper().getFactory().createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedChangeException("not a Debezium transaction event: not a JSON object");
            }
            String status = null;
            String rawId = null;
            long count = 0;
            Map<String, Long> perTable = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken token = p.nextToken();
                switch (field) {
                    case "payload" -> {
                        if (token == JsonToken.START_OBJECT) {
                            // the schema-and-payload wrapper: the event is the payload
                            return parse(Json.mapper().writeValueAsBytes(Json.mapper().readTree(p)));
                        }
                    }
                    case "status" -> {
                        status = p.getValueAsString();
                        if (!"END".equals(status) && status != null) {
                            return Optional.empty();
                        }
                    }
                    case "id" -> rawId = p.getValueAsString();
                    case "event_count" -> count = p.getValueAsLong();
                    case "data_collections" -> {
                        if (token == JsonToken.START_ARRAY) {
                            JsonNode collections = Json.mapper().readTree(p);
                            collections.forEach(c -> perTable.put(c.path("data_collection").asText(), c.path("event_count").asLong()));
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (status == null || rawId == null) {
                throw new MalformedChangeException("not a Debezium transaction event: 'status' and 'id' are required");
            }
            String id = ChangeEvent.TransactionRef.normalize(rawId);
            long position = id.equals(rawId) ? UNKNOWN_POSITION : Long.parseLong(rawId.substring(rawId.indexOf(':') + 1));
            return Optional.of(new TransactionEnd(id, count, perTable, position));
        } catch (IOException e) {
            throw new MalformedChangeException("transaction event is not JSON: " + e.getMessage());
        }
    }
}
