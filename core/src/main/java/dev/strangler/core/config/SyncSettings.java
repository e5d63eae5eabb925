package dev.strangler.core.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The sync engine (Kafka Streams) settings.
 *
 * @param stateDir       where the engine keeps its local state (rebuilt from Kafka when lost)
 * @param commitInterval how often it commits its Kafka transaction: the apply topic's readers see
 *                       rows only then, so this bounds part of the end-to-end latency
 */
public record SyncSettings(Path stateDir, Duration commitInterval) {
}
