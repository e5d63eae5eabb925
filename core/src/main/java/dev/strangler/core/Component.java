package dev.strangler.core;

import java.util.Optional;

/** A long-running part of a Strangler process whose state {@code /health} reports. */
public interface Component {

    /** A stable name, such as {@code capture:monolith} or {@code writer:orders}. */
    String name();

    ComponentState state();

    /** Why it failed, when {@link #state()} is {@link ComponentState#FAILED}. */
    Optional<String> failure();
}
