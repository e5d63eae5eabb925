package dev.strangler.router;

import dev.strangler.core.Weight;

import java.time.Duration;
import java.time.Instant;

/**
 * A gradual move of a route's weight: {@code step} every {@code every} until {@code target}, each
 * step taken only while the route's gates pass.
 *
 * @param state      where the ramp is
 * @param target     the weight it ends at
 * @param step       how far each step moves the weight
 * @param every      time between steps
 * @param nextStepAt when the next step is due (the driver also re-checks gates before it)
 * @param reason     why it is in its state (the failing gate, the operator's command)
 */
public record Ramp(RampState state, Weight target, Weight step, Duration every, Instant nextStepAt, String reason) {

    public Ramp {
        if (step.basisPoints() == 0) {
            throw new IllegalArgumentException("a ramp step must be above 0%");
        }
        if (every.isNegative()) {
            throw new IllegalArgumentException("a ramp interval cannot be negative: " + every);
        }
    }

    /**
     * This ramp in another state.
     *
     * @throws IllegalStateException when the move is not legal, naming both states
     */
    public Ramp moveTo(RampState next, String why) {
        if (!state.canMoveTo(next)) {
            throw new IllegalStateException("a " + state + " ramp cannot become " + next);
        }
        return new Ramp(next, target, step, every, nextStepAt, why);
    }

    public Ramp nextStepAt(Instant at) {
        return new Ramp(state, target, step, every, at, reason);
    }
}
