package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.util.Map;

/**
 * Told after each writer transaction commits. Called on the writer's thread: keep it short.
 */
@FunctionalInterface
public interface ApplyListener {

    /**
     * @param sourceCommitMicros per target table, the source commit time of each row committed
     * @param committedMicros    when the target transaction committed (epoch microseconds)
     */
    void committed(String service, Map<TableId, long[]> sourceCommitMicros, long committedMicros);

    ApplyListener NONE = (service, rows, at) -> {
    };
}
