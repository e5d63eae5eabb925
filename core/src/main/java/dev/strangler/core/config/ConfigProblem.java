package dev.strangler.core.config;

/**
 * One thing wrong with a configuration: the path of the field ({@code services.orders.tables[0].from})
 * and what is wrong with it, said so that the reader knows what to change. Never holds a secret.
 */
public record ConfigProblem(String path, String message) {

    @Override
    public String toString() {
        return path.isEmpty() ? message : path + ": " + message;
    }
}
