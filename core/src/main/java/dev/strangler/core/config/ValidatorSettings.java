package dev.strangler.core.config;

import java.time.Duration;

/**
 * How the validator compares monolith and service tables.
 *
 * @param segmentRows  rows per key-range segment whose checksum is compared
 * @param recheckAfter how long to wait before checking a differing key again; longer than the
 *                     replication lag, or changes on their way are reported as drift
 * @param sampleSize   most drifted keys listed in a report
 */
public record ValidatorSettings(int segmentRows, Duration recheckAfter, int sampleSize) {
}
