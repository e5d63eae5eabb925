package dev.strangler.core;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * The share of a route's requests that go to the service, in basis points: 0 (all to the monolith)
 * to 10,000 (all to the service). A typed value so that a weight is never a {@code double} that
 * drifts by rounding (Envoy's {@code FractionalPercent} does the same).
 *
 * <p>Written in config, on the CLI and on the routes topic as {@code 25%}, {@code 0.5%} or
 * {@code 2500bp}.
 */
public record Weight(int basisPoints) implements Comparable<Weight> {

    public static final int MAX_BASIS_POINTS = 10_000;
    public static final Weight MONOLITH_ONLY = new Weight(0);
    public static final Weight SERVICE_ONLY = new Weight(MAX_BASIS_POINTS);

    public Weight {
        if (basisPoints < 0 || basisPoints > MAX_BASIS_POINTS) {
            throw new IllegalArgumentException("a weight is 0 to 10000 basis points (0% to 100%), not " + basisPoints + "bp");
        }
    }

    /**
     * Reads {@code 25%}, {@code 12.5%}, {@code 0.01%} or {@code 2500bp}.
     *
     * @throws IllegalArgumentException naming the text and the accepted forms
     */
    public static Weight parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.equals("0")) {
                return MONOLITH_ONLY;
            }
            if (t.endsWith("bp")) {
                return new Weight(Integer.parseInt(t.substring(0, t.length() - 2).trim()));
            }
            if (t.endsWith("%")) {
                BigDecimal bp = new BigDecimal(t.substring(0, t.length() - 1).trim()).movePointRight(2);
                if (bp.stripTrailingZeros().scale() > 0) {
                    throw new IllegalArgumentException("a weight has at most two decimals of a percent (1bp = 0.01%), not '" + text + "'");
                }
                return new Weight(bp.intValueExact());
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // falls through to the message below
        }
        throw new IllegalArgumentException("a weight is written as a percent (25%, 0.5%) or in basis points (2500bp), not '" + text + "'");
    }

    /** The weight moved by {@code step} toward {@code target}, never past it. */
    public Weight stepToward(Weight target, Weight step) {
        if (basisPoints < target.basisPoints) {
            return new Weight(Math.min(target.basisPoints, basisPoints + step.basisPoints));
        }
        return new Weight(Math.max(target.basisPoints, basisPoints - step.basisPoints));
    }

    @Override
    public int compareTo(Weight other) {
        return Integer.compare(basisPoints, other.basisPoints);
    }

    /** {@code 25%}, {@code 12.5%}, {@code 0.01%}. */
    @Override
    public String toString() {
        return BigDecimal.valueOf(basisPoints, 2).stripTrailingZeros().toPlainString() + "%";
    }
}
