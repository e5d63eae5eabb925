package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One row change read from a cdc topic: which table, what happened, the row images and where in the
 * source's history it happened. Row images are JSON objects of column name → value as Debezium
 * carries them (see docs/configuration.md, "How values travel").
 *
 * @param key    the primary key columns of the row (for a delete, of the deleted row)
 * @param before the row before the change, when the source sends it (often only the key)
 * @param after  the row after the change; null for a delete
 */
public record ChangeEvent(TableId table, Op op, ObjectNode key, ObjectNode before, ObjectNode after, SourcePosition position,
                          TransactionRef transaction) {

    /** A change without transaction metadata (snapshot rows, or capture without it). */
    public ChangeEvent(TableId table, Op op, ObjectNode key, ObjectNode before, ObjectNode after, SourcePosition position) {
        this(table, op, key, before, after, position, null);
    }

    /**
     * Where a change sits in its source transaction, from Debezium's transaction metadata.
     *
     * @param totalOrder 1-based position of the change among all captured changes of the transaction
     */
    public record TransactionRef(String id, long totalOrder) {

        /**
         * The id that names one source transaction. Debezium's PostgreSQL connector writes
         * {@code <xid>:<lsn>} with the LSN of each event (so the ids of one transaction's events and of
         * its END differ); the xid alone is stable. Other forms (a MySQL GTID {@code uuid:n}) are kept.
         */
        public static String normalize(String id) {
            int colon = id.indexOf(':');
            if (colon > 0 && colon == id.lastIndexOf(':') && isDigits(id, 0, colon) && isDigits(id, colon + 1, id.length())) {
                return id.substring(0, colon);
            }
            return id;
        }

        private static boolean isDigits(String s, int from, int to) {
            if (from >= to) {
                return false;
            }
            for (int i = from; i < to; i++) {
                if (!Character.isDigit(s.charAt(i))) {
                    return false;
                }
            }
            return true;
        }
    }

    /** What happened to the row; the codes are Debezium's {@code op} field. */
    public enum Op {
        /** row copied by the initial snapshot */
        READ("r"),
        CREATE("c"),
        UPDATE("u"),
        DELETE("d"),
        TRUNCATE("t");

        private final String code;

        Op(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }

        public static Op fromCode(String code) {
            for (Op op : values()) {
                if (op.code.equals(code)) {
                    return op;
                }
            }
            throw new IllegalArgumentException("unknown change operation '" + code + "' (expected r, c, u, d or t)");
        }
    }
}
