package dev.strangler.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
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
        Envelope e;
        try (JsonParser p = JSON.getFactory().createParser(value)) {
            JsonToken first = p.nextToken();
            if (first == null || first == JsonToken.VALUE_NULL) {
                return Optional.empty();
            }
            if (first != JsonToken.START_OBJECT) {
                throw new MalformedChangeException("not a Debezium change envelope: the value is not a JSON object");
            }
            e = readEnvelope(p);
        } catch (JsonProcessingException ex) {
            throw new MalformedChangeException("the record's value is not JSON: " + ex.getOriginalMessage());
        } catch (IOException ex) {
            throw new MalformedChangeException("the record's value cannot be read: " + ex.getMessage());
        }
        if (e.wrapped != null) {
            e = e.wrapped;
        }
        if (e.empty) {
            return Optional.empty();
        }
        if (e.op == null || !e.hasSource) {
            throw new MalformedChangeException("not a Debezium change envelope: 'op' and 'source' are required, found fields " + e.fields);
        }
        ChangeEvent.Op op;
        try {
            op = ChangeEvent.Op.fromCode(e.op);
        } catch (IllegalArgumentException ex) {
            throw new MalformedChangeException(ex.getMessage());
        }
        if ((e.schema == null || e.schema.isEmpty()) && e.db != null && !e.db.isEmpty()) {
            e.schema = e.db;
        }
        if (e.schema == null || e.schema.isEmpty()) {
            throw new MalformedChangeException("the change's source block has no 'schema' (or 'db')");
        }
        if (e.table == null || e.table.isEmpty()) {
            throw new MalformedChangeException("the change's source block has no 'table'");
        }
        TableId table = new TableId(e.schema, e.table);
        ObjectNode keyNode = key == null ? null : object(unwrap(read(key, "key")));
        if (keyNode == null) {
            keyNode = op == ChangeEvent.Op.DELETE ? e.before : e.after;
        }
        if (keyNode == null && op != ChangeEvent.Op.TRUNCATE) {
            throw new MalformedChangeException("change to " + table + " has neither a key nor a row image");
        }
        if (op != ChangeEvent.Op.DELETE && op != ChangeEvent.Op.TRUNCATE && e.after == null) {
            throw new MalformedChangeException("change '" + op.code() + "' to " + table + " has no 'after' row image");
        }
        ChangeEvent.TransactionRef transaction = e.transactionId == null || e.totalOrder == null ? null
                : new ChangeEvent.TransactionRef(ChangeEvent.TransactionRef.normalize(e.transactionId), e.totalOrder);
        return Optional.of(new ChangeEvent(table, op, keyNode, e.before, e.after, position(e, op), transaction));
    }

    /** The parts of an envelope Strangler uses, read in one streaming pass (only row images become trees). */
    private static final class Envelope {
        ObjectNode before;
        ObjectNode after;
        String op;
        boolean hasSource;
        String schema;
        String table;
        Long lsn;
        String file;
        Long pos;
        Long row;
        String db;
        Long tsUs;
        Long tsMs;
        Long envelopeTsMs;
        String txId;
        String transactionId;
        Long totalOrder;
        Envelope wrapped;
        boolean empty;
        final List<String> fields = new ArrayList<>();
    }

    private static Envelope readEnvelope(JsonParser p) throws IOException {
        Envelope e = new Envelope();
        boolean sawSchema = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken token = p.nextToken();
            e.fields.add(name);
            switch (name) {
                case "before" -> e.before = token == JsonToken.START_OBJECT ? (ObjectNode) JSON.readTree(p) : skip(p);
                case "after" -> e.after = token == JsonToken.START_OBJECT ? (ObjectNode) JSON.readTree(p) : skip(p);
                case "op" -> e.op = token == JsonToken.VALUE_NULL ? null : p.getText();
                case "source" -> {
                    if (token == JsonToken.START_OBJECT) {
                        e.hasSource = true;
                        readSource(p, e);
                    } else {
                        p.skipChildren();
                    }
                }
                case "ts_ms" -> e.envelopeTsMs = token.isNumeric() ? p.getLongValue() : null;
                case "transaction" -> {
                    if (token == JsonToken.START_OBJECT) {
                        readTransaction(p, e);
                    } else {
                        p.skipChildren();
                    }
                }
                case "schema" -> {
                    sawSchema = true;
                    p.skipChildren();
                }
                case "payload" -> {
                    if (token == JsonToken.START_OBJECT) {
                        e.wrapped = readEnvelope(p);
                    } else {
                        if (token == JsonToken.VALUE_NULL) {
                            e.wrapped = new Envelope();
                            e.wrapped.empty = true;
                        }
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
        if (e.wrapped != null && !sawSchema) {
            // a "payload" field without "schema" is an ordinary column-free envelope field: not the wrapper
            e.wrapped = null;
        }
        return e;
    }

    private static void readSource(JsonParser p, Envelope e) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken token = p.nextToken();
            switch (name) {
                case "schema" -> e.schema = token == JsonToken.VALUE_NULL ? null : p.getText();
                // MySQL/MariaDB: the database is the table's namespace (a table is database.table)
                case "db" -> e.db = token == JsonToken.VALUE_NULL ? null : p.getText();
                case "table" -> e.table = token == JsonToken.VALUE_NULL ? null : p.getText();
                case "lsn" -> e.lsn = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                case "file" -> e.file = token == JsonToken.VALUE_NULL ? null : p.getText();
                case "pos" -> e.pos = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                case "row" -> e.row = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                case "ts_us" -> e.tsUs = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                case "ts_ms" -> e.tsMs = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                case "txId" -> e.txId = token == JsonToken.VALUE_NULL ? null : p.getText();
                default -> p.skipChildren();
            }
        }
    }

    private static void readTransaction(JsonParser p, Envelope e) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken token = p.nextToken();
            switch (name) {
                case "id" -> e.transactionId = token == JsonToken.VALUE_NULL ? null : p.getText();
                case "total_order" -> e.totalOrder = token.isNumeric() ? Long.valueOf(p.getLongValue()) : null;
                default -> p.skipChildren();
            }
        }
    }

    private static ObjectNode skip(JsonParser p) throws IOException {
        p.skipChildren();
        return null;
    }

    private static SourcePosition position(Envelope e, ChangeEvent.Op op) {
        long version;
        if (op == ChangeEvent.Op.READ) {
            // A snapshot row is older than every streamed change of its key, which the topic always
            // holds after it. Its own LSN (the slot's consistent point) is not: a transaction that began
            // before that point and committed after it is streamed with smaller change LSNs.
            version = SourcePosition.SNAPSHOT_VERSION;
        } else if (e.lsn != null) {
            version = e.lsn;
        } else if (e.file != null && e.pos != null) {
            // every change of a binlog transaction carries the transaction's start position, so the position
            // cannot order changes within one: MariaDB's GTID sequence number and the change's place in its
            // transaction can (a row updated twice in one transaction gets two versions)
            version = e.transactionId != null && e.totalOrder != null && GTID.matcher(e.transactionId).matches()
                    ? gtidVersion(e.transactionId, e.totalOrder) : binlogVersion(e.file, e.pos, e.row == null ? 0 : e.row);
        } else {
            throw new MalformedChangeException("the change's source block has no position (lsn, or file and pos)");
        }
        long micros = e.tsUs != null ? e.tsUs : e.tsMs != null ? e.tsMs * 1000 : e.envelopeTsMs != null ? e.envelopeTsMs * 1000 : 0;
        return new SourcePosition(version, micros, e.txId);
    }

    /** A MariaDB GTID ({@code domain-server-sequence}) or a MySQL one ({@code source_uuid:transaction_id}). */
    private static final java.util.regex.Pattern GTID = java.util.regex.Pattern.compile("\\d+-\\d+-\\d+|[0-9a-fA-F-]{36}:\\d+");

    /**
     * Orders the changes of a MariaDB or MySQL source by transaction, then within it: the GTID's sequence number
     * (MariaDB {@code domain-server-sequence}, increasing per domain; MySQL {@code source_uuid:transaction_id},
     * increasing per source) in the high 43 bits, the change's 1-based place in its transaction
     * ({@code total_order}) in the low 20. Good for one GTID domain (MariaDB) or one source UUID (MySQL: not across
     * a failover to another primary), 8.8 trillion transactions and 1,048,575 changes per transaction.
     */
    static long gtidVersion(String gtid, long totalOrder) {
        int colon = gtid.lastIndexOf(':');
        long sequence = Long.parseLong(gtid.substring((colon >= 0 ? colon : gtid.lastIndexOf('-')) + 1));
        if (sequence >= (1L << 43) || totalOrder >= (1L << 20) || totalOrder < 1) {
            throw new MalformedChangeException("change " + totalOrder + " of transaction " + gtid + " is beyond what Strangler orders "
                    + "(1,048,575 changes per transaction, GTID sequence numbers below 2^43)");
        }
        return (sequence << 20) | totalOrder;
    }

    /**
     * Orders MySQL/MariaDB binlog positions: the file's sequence number in the top 16 bits, the event's offset
     * in the next 32, the row within the event (a multi-row event holds several rows at one offset) in the low
     * 15. Good for 65,535 binlog files of up to 4 GiB and 32,767 rows per event (an event is at most
     * {@code binlog_row_event_max_size}, 8 KiB by default).
     */
    static long binlogVersion(String file, long pos, long row) {
        int dot = file.lastIndexOf('.');
        long sequence = dot < 0 ? 0 : Long.parseLong(file.substring(dot + 1));
        if (sequence >= (1L << 16) || pos >= (1L << 32) || row >= (1L << 15)) {
            throw new MalformedChangeException("binlog position " + file + ":" + pos + " row " + row + " is beyond what Strangler orders "
                    + "(65,535 files, 4 GiB each, 32,767 rows per event)");
        }
        return (sequence << 47) | (pos << 15) | row;
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

}
