package dev.strangler.core;

import java.util.EnumSet;
import java.util.Set;

/**
 * The lifecycle of every long-running part of Strangler (capture, sync engine, writer, router...),
 * with its legal transitions written as data, as Kafka Streams does with {@code KafkaStreams.State}.
 *
 * <pre>
 * CREATED → STARTING → RUNNING → STOPPING → STOPPED
 *              │          │
 *              └──────────┴────→ FAILED → STOPPING
 * </pre>
 */
public enum ComponentState {
    CREATED,
    STARTING,
    RUNNING,
    STOPPING,
    STOPPED,
    FAILED;

    private Set<ComponentState> next;

    static {
        CREATED.next = EnumSet.of(STARTING, STOPPING);
        STARTING.next = EnumSet.of(RUNNING, STOPPING, FAILED);
        RUNNING.next = EnumSet.of(STOPPING, FAILED);
        STOPPING.next = EnumSet.of(STOPPED);
        STOPPED.next = EnumSet.noneOf(ComponentState.class);
        FAILED.next = EnumSet.of(STOPPING);
    }

    public boolean canMoveTo(ComponentState target) {
        return next.contains(target);
    }

    /** Healthy means it is doing or about to do its work. */
    public boolean healthy() {
        return this == STARTING || this == RUNNING;
    }
}
