package dev.strangler.core;

/**
 * Where a change sits in its source's history.
 *
 * @param version          orders the changes of one row: later changes of a row have larger versions
 *                         (for PostgreSQL, the WAL position of the change: a second transaction can only
 *                         change a row after the first has committed, so per row these grow). Snapshot
 *                         rows have {@link #SNAPSHOT_VERSION}, older than any streamed change. A writer
 *                         never replaces a row with an older version.
 * @param commitTimeMicros when the source committed the change (epoch microseconds); for snapshot rows,
 *                         when they were read
 * @param transactionId    the source transaction, or null when unknown
 */
public record SourcePosition(long version, long commitTimeMicros, String transactionId) {

    /** The version of a row copied by a snapshot: older than any streamed change. */
    public static final long SNAPSHOT_VERSION = 0L;
}
