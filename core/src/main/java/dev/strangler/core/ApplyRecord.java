package dev.strangler.core;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
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
 * @param awaitsCommit the row is part of a whole source transaction: the writer applies it only
 *                  together with the {@link TransactionCommit} marker that follows it
 * @param forced    a conflict decision: written whatever version the target holds (the decision comes
 *                  after the changes it overrides on the same partition), and the target's version set to
 *                  {@code version}
 * @param seq       two-way sync: the row's place among the rows the sync engine sent to this target (from 1; 0 for
 *                  one-way rows). A writer into a captured database records the highest it applied in its origin
 *                  marker, which tells the sync engine what that database had seen when a later change was made there
 */
public record ApplyRecord(TableId table, Action action, ObjectNode key, ObjectNode row, Set<String> unchanged,
                          long version, long sourceCommitMicros, String transactionId, boolean awaitsCommit, boolean forced, long seq) {

    public ApplyRecord(TableId table, Action action, ObjectNode key, ObjectNode row, Set<String> unchanged,
                       long version, long sourceCommitMicros, String transactionId) {
        this(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, false, false, 0);
    }

    public ApplyRecord(TableId table, Action action, ObjectNode key, ObjectNode row, Set<String> unchanged,
                       long version, long sourceCommitMicros, String transactionId, boolean awaitsCommit) {
        this(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, awaitsCommit, false, 0);
    }

    /** The same row, marked as part of a whole source transaction. */
    public ApplyRecord awaitingCommit() {
        return new ApplyRecord(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, true, forced, seq);
    }

    /** The same row on its own, outside any source transaction (a replayed dead letter). */
    public ApplyRecord standalone() {
        return new ApplyRecord(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, false, forced, seq);
    }

    /** The same row as a conflict decision (see {@code forced}). */
    public ApplyRecord asForced() {
        return new ApplyRecord(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, awaitsCommit, true, seq);
    }

    /** The same row with its place among the rows sent to its target (see {@code seq}). */
    public ApplyRecord withSeq(long seq) {
        return new ApplyRecord(table, action, key, row, unchanged, version, sourceCommitMicros, transactionId, awaitsCommit, forced, seq);
    }

    /**
     * This change laid over an older change of the same key (both in one batch, which keeps one change per key):
     * the columns this one did not send (unchanged TOAST values) take the older one's values where it had them.
     * Without it an insert followed by an update that left a TOAST value alone collapsed to the update alone,
     * which found no row to update: the row was lost.
     */
    public ApplyRecord over(ApplyRecord older) {
        if (unchanged.isEmpty() || action != Action.UPSERT || older.action != Action.UPSERT || older.row == null || row == null) {
            return this;
        }
        ObjectNode merged = older.row.deepCopy();
        row.properties().forEach(e -> {
            if (!unchanged.contains(e.getKey())) {
                merged.set(e.getKey(), e.getValue());
            }
        });
        Set<String> stillUnchanged = new LinkedHashSet<>();
        for (String column : unchanged) {
            if (older.unchanged.contains(column) || !older.row.has(column)) {
                stillUnchanged.add(column);
            }
        }
        return new ApplyRecord(table, action, key, merged, stillUnchanged, version, sourceCommitMicros, transactionId, awaitsCommit, forced, seq);
    }

    /** What the writer does with the row. */
    public enum Action {
        /** insert the row, or update it when the key exists with an older version */
        UPSERT,
        /** delete the row with this key */
        DELETE,
        /** delete every row of the table (the source table was truncated); the key is empty */
        TRUNCATE
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
        StringBuilder out = new StringBuilder(64).append(table.schema()).append('.').append(table.table()).append('|');
        appendKey(out, key);
        return out.toString();
    }

    /** The key as compact JSON; written by hand because {@code ObjectNode.toString()} is slow on this hot path. */
    static void appendKey(StringBuilder out, ObjectNode key) {
        out.append('{');
        boolean first = true;
        for (Iterator<Map.Entry<String, JsonNode>> fields = key.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append('"');
            JsonStringEncoder.getInstance().quoteAsString(field.getKey(), out);
            out.append("\":");
            JsonNode value = field.getValue();
            if (value.isTextual()) {
                out.append('"');
                JsonStringEncoder.getInstance().quoteAsString(value.textValue(), out);
                out.append('"');
            } else if (value.isValueNode()) {
                out.append(value.asText());
            } else {
                out.append(value);
            }
        }
        out.append('}');
    }

    public byte[] toBytes() {
        try (ByteArrayBuilder out = new ByteArrayBuilder(256); JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("table", table.toString());
            g.writeStringField("action", action.name().toLowerCase(java.util.Locale.ROOT));
            g.writeFieldName("key");
            JSON.writeTree(g, key);
            if (row != null) {
                g.writeFieldName("row");
                JSON.writeTree(g, row);
            }
            if (!unchanged.isEmpty()) {
                g.writeArrayFieldStart("unchanged");
                for (String column : unchanged) {
                    g.writeString(column);
                }
                g.writeEndArray();
            }
            g.writeNumberField("version", version);
            g.writeNumberField("sourceCommitMicros", sourceCommitMicros);
            if (transactionId != null) {
                g.writeStringField("tx", transactionId);
            }
            if (awaitsCommit) {
                g.writeBooleanField("awaitsCommit", true);
            }
            if (forced) {
                g.writeBooleanField("forced", true);
            }
            if (seq != 0) {
                g.writeNumberField("seq", seq);
            }
            g.writeEndObject();
            g.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise apply record for " + table, e);
        }
    }

    /** @throws MalformedChangeException naming what is wrong with the record */
    public static ApplyRecord fromBytes(byte[] bytes) {
        String tableName = null;
        String actionName = null;
        ObjectNode key = null;
        ObjectNode row = null;
        Set<String> unchanged = Set.of();
        Long version = null;
        long sourceCommitMicros = 0;
        String tx = null;
        boolean awaitsCommit = false;
        boolean forced = false;
        long seq = 0;
        try (JsonParser p = JSON.getFactory().createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedChangeException("apply record is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken token = p.nextToken();
                switch (name) {
                    case "table" -> tableName = token == JsonToken.VALUE_NULL ? null : p.getText();
                    case "action" -> actionName = token == JsonToken.VALUE_NULL ? null : p.getText();
                    case "key" -> key = token == JsonToken.START_OBJECT ? (ObjectNode) JSON.readTree(p) : skip(p);
                    case "row" -> row = token == JsonToken.START_OBJECT ? (ObjectNode) JSON.readTree(p) : skip(p);
                    case "unchanged" -> {
                        Set<String> columns = new LinkedHashSet<>();
                        if (token == JsonToken.START_ARRAY) {
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                columns.add(p.getText());
                            }
                        }
                        unchanged = columns;
                    }
                    case "version" -> version = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                    case "sourceCommitMicros" -> sourceCommitMicros = token.isNumeric() ? p.getLongValue() : 0;
                    case "tx" -> tx = token == JsonToken.VALUE_NULL ? null : p.getText();
                    case "awaitsCommit" -> awaitsCommit = token == JsonToken.VALUE_TRUE;
                    case "forced" -> forced = token == JsonToken.VALUE_TRUE;
                    case "seq" -> seq = token.isNumeric() ? p.getLongValue() : 0;
                    default -> p.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw new MalformedChangeException("apply record is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedChangeException("apply record cannot be read: " + e.getMessage());
        }
        if (tableName == null) {
            throw new MalformedChangeException("apply record has no 'table'");
        }
        if (actionName == null) {
            throw new MalformedChangeException("apply record has no 'action'");
        }
        if (key == null) {
            throw new MalformedChangeException("apply record has no 'key' object");
        }
        if (version == null) {
            throw new MalformedChangeException("apply record has no 'version'");
        }
        Action action;
        switch (actionName) {
            case "upsert" -> action = Action.UPSERT;
            case "delete" -> action = Action.DELETE;
            case "truncate" -> action = Action.TRUNCATE;
            default -> throw new MalformedChangeException("apply record action '" + actionName + "' is not upsert, delete or truncate");
        }
        if (action == Action.UPSERT && row == null) {
            throw new MalformedChangeException("apply record upsert has no 'row'");
        }
        TableId table;
        try {
            table = TableId.parse(tableName);
        } catch (IllegalArgumentException e) {
            throw new MalformedChangeException("apply record table: " + e.getMessage());
        }
        return new ApplyRecord(table, action, key, row, unchanged, version, sourceCommitMicros, tx, awaitsCommit, forced, seq);
    }

    private static ObjectNode skip(JsonParser p) throws IOException {
        p.skipChildren();
        return null;
    }

    /** Bytes of {@link #kafkaKey()}. */
    public byte[] kafkaKeyBytes() {
        return kafkaKey().getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes of an already computed {@link #kafkaKey()}. */
    public static byte[] kafkaKeyBytes(String kafkaKey) {
        return kafkaKey.getBytes(StandardCharsets.UTF_8);
    }
}
