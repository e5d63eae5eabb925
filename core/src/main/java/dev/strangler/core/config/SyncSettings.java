package dev.strangler.core.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The sync engine (Kafka Streams) settings.
 *
 * @param stateDir       where the engine keeps its local state (rebuilt from Kafka when lost)
 * @param commitInterval how often it commits its Kafka transaction: the apply topic's readers see
 *                       rows only then, so this bounds part of the end-to-end latency
 * @param transactionTimeout how long a source transaction may stay incomplete (its END or some of its
 *                       changes not yet seen) before it is reported and applied with what has arrived
 * @param instanceId     this sync-engine process's static group membership: a restart with the same id
 *                       takes over at once instead of waiting for the old member's session to time out.
 *                       Each replica needs its own id.
 * @param conflictWindow two-way tables: how long the conflict store remembers a row both sides have applied and
 *                       nobody changed since (its agreed image, the base of a merge); rows with a change not yet
 *                       applied on a side are kept until it is (docs/two-way.md)
 */
public record SyncSettings(Path stateDir, Duration commitInterval, Duration transactionTimeout, String instanceId,
                           Duration conflictWindow, Secret maskKey) {

    public SyncSettings(Path stateDir, Duration commitInterval, Duration transactionTimeout, String instanceId) {
        this(stateDir, commitInterval, transactionTimeout, instanceId, Duration.ofSeconds(10), Secret.empty());
    }

    /** The mask key's bytes (UTF-8 of the configured text), or null when none is set. */
    public byte[] maskKeyBytes() {
        return maskKey.isEmpty() ? null : maskKey.reveal().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
