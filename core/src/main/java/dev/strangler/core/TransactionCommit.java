package dev.strangler.core;

import java.nio.charset.StandardCharsets;

/**
 * The marker that closes one source transaction on an apply topic: every row of the transaction for
 * this service precedes it. A writer in transaction-consistent mode commits only at these markers,
 * so a reader of the service database never sees part of a source transaction.
 *
 * <p>Wire form: key {@code |commit|<transaction id>}, value {@code {"commit":"<id>","rows":n,"sourceCommitMicros":t}}.
 */
public record TransactionCommit(String transactionId, int rows, long sourceCommitMicros) {

    private static final String KEY_PREFIX = "|commit|";

    public byte[] kafkaKey() {
        return (KEY_PREFIX + transactionId).getBytes(StandardCharsets.UTF_8);
    }

    public byte[] toBytes() {
        return ("{\"commit\":" + quote(transactionId) + ",\"rows\":" + rows + ",\"sourceCommitMicros\":" + sourceCommitMicros + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Whether an apply-topic record key is a commit marker's (table names never start with '|'). */
    public static boolean isCommitKey(byte[] key) {
        if (key == null || key.length < KEY_PREFIX.length()) {
            return false;
        }
        for (int i = 0; i < KEY_PREFIX.length(); i++) {
            if (key[i] != KEY_PREFIX.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** @throws MalformedChangeException when the value is not a commit marker */
    public static TransactionCommit fromBytes(byte[] value) {
        try {
            var node = Json.mapper().readTree(value);
            if (node == null || !node.hasNonNull("commit")) {
                throw new MalformedChangeException("commit marker has no 'commit'");
            }
            return new TransactionCommit(node.get("commit").asText(), node.path("rows").asInt(), node.path("sourceCommitMicros").asLong());
        } catch (java.io.IOException e) {
            throw new MalformedChangeException("commit marker is not JSON: " + e.getMessage());
        }
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s, out);
        return out.append('"').toString();
    }
}
