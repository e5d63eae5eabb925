package dev.strangler.connectors;

import dev.strangler.core.TableId;

/** Identifiers written into PostgreSQL statements, always quoted (names keep their case and may be keywords). */
public final class PostgresNames {

    private PostgresNames() {
    }

    public static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    public static String qualified(TableId table) {
        return quote(table.schema()) + "." + quote(table.table());
    }
}
