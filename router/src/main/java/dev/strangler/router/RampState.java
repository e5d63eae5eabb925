package dev.strangler.router;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a gradual ramp of a route's weight is, with its legal moves written as data.
 *
 * <pre>
 * RUNNING ⇄ PAUSED
 *    │         │
 *    ├─────────┴──→ ABORTED (operator; weight stays) / ROLLED_BACK (gate or operator; weight 0)
 *    └──→ DONE (target reached)
 * </pre>
 */
public enum RampState {
    RUNNING, PAUSED, DONE, ABORTED, ROLLED_BACK;

    private Set<RampState> next;

    static {
        RUNNING.next = EnumSet.of(PAUSED, DONE, ABORTED, ROLLED_BACK);
        PAUSED.next = EnumSet.of(RUNNING, ABORTED, ROLLED_BACK);
        DONE.next = EnumSet.noneOf(RampState.class);
        ABORTED.next = EnumSet.noneOf(RampState.class);
        ROLLED_BACK.next = EnumSet.noneOf(RampState.class);
    }

    public boolean canMoveTo(RampState target) {
        return next.contains(target);
    }

    /** RUNNING or PAUSED: a later ramp must abort this one first. */
    public boolean active() {
        return this == RUNNING || this == PAUSED;
    }
}
