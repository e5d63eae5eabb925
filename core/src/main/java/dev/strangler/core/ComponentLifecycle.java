package dev.strangler.core;


import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/** Holds a {@link ComponentState} and refuses illegal transitions with a message naming both states. */
public final class ComponentLifecycle {

    private final String owner;
    private final AtomicReference<ComponentState> state = new AtomicReference<>(ComponentState.CREATED);
    private volatile String failure;

    public ComponentLifecycle(String owner) {
        this.owner = owner;
    }

    public ComponentState get() {
        return state.get();
    }

    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /** @throws IllegalStateException when the move is not legal from the current state */
    public void moveTo(ComponentState target) {
        ComponentState current = state.get();
        if (!current.canMoveTo(target) || !state.compareAndSet(current, target)) {
            throw new IllegalStateException(owner + " cannot move from " + state.get() + " to " + target);
        }
    }

    /** Moves when legal; returns whether it moved. For paths that race with shutdown. */
    public boolean tryMoveTo(ComponentState target) {
        ComponentState current = state.get();
        return current.canMoveTo(target) && state.compareAndSet(current, target);
    }

    public void fail(String reason) {
        failure = reason;
        tryMoveTo(ComponentState.FAILED);
    }
}
