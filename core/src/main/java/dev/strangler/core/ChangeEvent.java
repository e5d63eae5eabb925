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
public record ChangeEvent(TableId table, Op op, ObjectNode key, ObjectNode before, ObjectNode after, SourcePosition position) {

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
