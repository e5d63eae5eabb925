package dev.strangler.core;

/** A record on a cdc or apply topic that cannot be read; the message says what is wrong with it. */
public final class MalformedChangeException extends RuntimeException {

    public MalformedChangeException(String message) {
        super(message);
    }

    public MalformedChangeException(String message, Throwable cause) {
        super(message, cause);
    }
}
