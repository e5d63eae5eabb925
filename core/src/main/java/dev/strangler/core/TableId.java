package dev.strangler.core;

import java.util.Objects;

/**
 * A table named by schema and name, as in {@code public.orders}. Names are kept as written in the
 * database (PostgreSQL folds unquoted names to lower case, so configs use lower case).
 */
public record TableId(String schema, String table) implements Comparable<TableId> {

    public TableId {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
        if (schema.isBlank() || table.isBlank()) {
            throw new IllegalArgumentException("schema and table must not be blank: '" + schema + "." + table + "'");
        }
    }

    /**
     * Parses {@code schema.table}; a name without a dot is in schema {@code public}.
     *
     * @throws IllegalArgumentException naming the text when it is not of that form
     */
    public static TableId parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("a table name is required, as schema.table (e.g. public.orders)");
        }
        String trimmed = text.trim();
        int dot = trimmed.indexOf('.');
        if (dot < 0) {
            return new TableId("public", trimmed);
        }
        if (dot == 0 || dot == trimmed.length() - 1 || trimmed.indexOf('.', dot + 1) >= 0) {
            throw new IllegalArgumentException("'" + text + "' is not a table name of the form schema.table (e.g. public.orders)");
        }
        return new TableId(trimmed.substring(0, dot), trimmed.substring(dot + 1));
    }

    @Override
    public int compareTo(TableId other) {
        int c = schema.compareTo(other.schema);
        return c != 0 ? c : table.compareTo(other.table);
    }

    @Override
    public String toString() {
        return schema + "." + table;
    }
}
