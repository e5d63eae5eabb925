package dev.strangler.core.config;

import java.time.Duration;

/**
 * How the validator compares monolith and service tables.
 *
 * @param segmentRows  rows per key-range segment whose checksum is compared
 * @param fetchRows    a differing segment with at most this many rows on each side is fetched and compared
 *                     row by row; a larger one is split 16 ways first
 * @param recheckAfter how long to wait before checking a differing key again; longer than the
 *                     replication lag, or changes on their way are reported as drift
 * @param sampleSize   most drifted keys listed in a report
 * @param interval     the validator service starts a table's next pass this long after its last one finished
 * @param maxRowsPerSecond the most rows per second a pass of the validator service compares (0: no limit)
 * @param autoRepairMaxRows most drifted rows the validator service repairs after one pass of a table with
 *                          {@code repair: auto}; more drift than that is reported and left for a person
 */
public record ValidatorSettings(int segmentRows, int fetchRows, Duration recheckAfter, int sampleSize, Duration interval,
                                int maxRowsPerSecond, int autoRepairMaxRows) {
}
