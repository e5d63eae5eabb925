package dev.strangler.connectors;

import dev.strangler.connectors.internal.PostgresDialect;
import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Loop prevention of two-way sync (DESIGN.md, "No echo loops"): every transaction a writer applies to a
 * database that is also captured first updates the writer's row in {@code public.strangler_origin},
 * whose {@code origin} column names where the applied changes came from. The capture publishes that
 * change with the rest of the transaction; the sync engine recognises it and drops the transaction's
 * rows bound for that origin, so nothing the writer applied is sent back.
 */
public final class OriginMarkers {

    /** The marker table, captured in every database of a two-way pair. */
    public static final TableId TABLE = PostgresDialect.ORIGIN_TABLE_ID;
    /** Column of the marker row that names the origin of the applied changes. */
    public static final String ORIGIN_COLUMN = "origin";
    /** Column of the marker row: the highest {@code ApplyRecord.seq} this writer has applied. */
    public static final String THROUGH_COLUMN = "through";

    private OriginMarkers() {
    }

    /** Creates the marker table when missing (capture needs it in its publication before a writer ran). */
    public static void ensureTable(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String ddl : PostgresDialect.createOriginTable()) {
                s.execute(ddl);
            }
        }
    }
}
