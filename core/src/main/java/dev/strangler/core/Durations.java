package dev.strangler.core;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;

/** Durations as people write them in config and on the command line: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, ISO-8601 {@code PT10S}. */
public final class Durations {

    private Durations() {
    }

    /** The duration, or empty when the text is none of the accepted forms. */
    public static Optional<Duration> parse(String text) {
        String t = text.trim();
        try {
            if (t.startsWith("P") || t.startsWith("p")) {
                return Optional.of(Duration.parse(t.toUpperCase(Locale.ROOT)));
            }
            String lower = t.toLowerCase(Locale.ROOT);
            String[][] units = {{"ms", "1"}, {"s", "1000"}, {"m", "60000"}, {"h", "3600000"}};
            for (String[] unit : units) {
                if (lower.endsWith(unit[0])) {
                    String number = lower.substring(0, lower.length() - unit[0].length()).trim();
                    if (number.matches("\\d+")) {
                        return Optional.of(Duration.ofMillis(Math.multiplyExact(Long.parseLong(number), Long.parseLong(unit[1]))));
                    }
                }
            }
            return Optional.empty();
        } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
