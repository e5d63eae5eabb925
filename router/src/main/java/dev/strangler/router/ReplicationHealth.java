package dev.strangler.router;

import dev.strangler.core.TableId;

import java.time.Duration;
import java.util.Optional;

/**
 * What the router's gates know about the data behind a route: how far the services' copies of a
 * monolith table lag, and whether the validator's latest pass found them equal. The process that
 * runs the router supplies it (from the writer's metrics and the validation topic).
 */
public interface ReplicationHealth {

    /** Lag of a monolith table's changes into the services, or empty when this process cannot know it. */
    Optional<Duration> lag(TableId table);

    /** True when the validator's latest finished pass found the table consistent, false on drift, empty before any pass. */
    Optional<Boolean> consistent(TableId table);

    /** Knows nothing: lag and consistency gates fail with a message saying so. */
    ReplicationHealth UNKNOWN = new ReplicationHealth() {
        @Override
        public Optional<Duration> lag(TableId table) {
            return Optional.empty();
        }

        @Override
        public Optional<Boolean> consistent(TableId table) {
            return Optional.empty();
        }
    };
}
