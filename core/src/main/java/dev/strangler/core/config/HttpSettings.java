package dev.strangler.core.config;

/** Where a Strangler process serves {@code /health} and {@code /metrics}. Port 0 picks a free port. */
public record HttpSettings(String host, int port) {
}
