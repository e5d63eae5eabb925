package dev.strangler.core;

/**
 * Where a change sits in its source's history.
 *
 * @param version          orders the changes of one row: later changes of a row have larger versions
 *                         (for PostgreSQL, the WAL position of the change). A writer never replaces a
 *                         row with an older version.
 * @param commitTimeMicros when the source committed the change (epoch microseconds); for snapshot rows,
 *                         when they were read
 * @param transactionId    the source transaction, or null when unknown
 */
public record SourcePosition(long version, long commitTimeMicros, String transactionId) {
}
