package dev.strangler.validator.internal;

import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * The validator's SQL for one side (monolith or service) of one table. Both sides of a comparison render
 * rows, keys and checksums the same way, so equal rows give equal texts and equal checksums. Ranges of keys
 * are half-open: after the lower bound, up to and including the upper one; the caller binds the lower key's
 * values (if any), then the upper key's (if any), as text.
 */
public interface ChecksumSql {

    List<String> keys();

    List<String> columns();

    /** The WHERE clause for a range. */
    String rangeCondition(boolean hasLower, boolean hasUpper);

    /** Count and hash sum (as text) of the rows in a range. */
    String checksum(boolean hasLower, boolean hasUpper);

    /** Every {@code n}-th key of a range (n is the last parameter), in key order, as text. */
    String boundaries(boolean hasLower, boolean hasUpper);

    /** Whether {@link #sampledKeys} can be used (a random sample of pages). */
    boolean samplesPages();

    /** Keys of a random sample of the table's pages (a percentage as the first parameter), in key order. */
    String sampledKeys(boolean hasLower);

    /** Key texts then each compared column's canonical text, for the rows of a range, in key order. */
    String rows(boolean hasLower, boolean hasUpper);

    /** As {@link #rows}, for listed keys: bind each key's values in turn. */
    String rowsForKeys(int count);

    /** The database's row estimate for the table, for progress and segment sizes; cheap. */
    long estimate(Connection c, TableId table) throws SQLException;
}
