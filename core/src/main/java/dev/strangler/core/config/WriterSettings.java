package dev.strangler.core.config;

import java.time.Duration;

/**
 * How the JDBC writer batches rows into service database transactions.
 *
 * @param maxBatchRows most rows in one target transaction
 * @param pollTimeout  how long one poll of the apply topic may wait for more rows
 * @param parkTimeout  how long a row whose parent row is missing (foreign key) waits, parked, for its
 *                     parent before it goes to the dead-letter topic
 */
public record WriterSettings(int maxBatchRows, Duration pollTimeout, Duration parkTimeout) {
}
