package dev.strangler.core.config;

import java.time.Duration;

/**
 * How the JDBC writer batches rows into service database transactions.
 *
 * @param maxBatchRows most rows in one target transaction
 * @param pollTimeout  how long one poll of the apply topic may wait for more rows
 */
public record WriterSettings(int maxBatchRows, Duration pollTimeout) {
}
