package dev.strangler.core;

/** Small text helpers for messages. */
public final class Strings {

    private Strings() {
    }

    /** The first line of a (database or parser) message, which is the one that says what is wrong; "" for null. */
    public static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
