package dev.strangler.connectors.internal;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which PostgreSQL type changes keep every value of the old type, so a service column can follow the monolith's
 * without losing or changing data: longer or unlimited strings, larger integers, numerics with at least as many
 * digits on both sides of the point, double for real. Types as PostgreSQL prints them ({@code format_type}).
 */
public final class TypeWidening {

    private static final Pattern VARCHAR = Pattern.compile("character varying(?:\\((\\d+)\\))?");
    private static final Pattern NUMERIC = Pattern.compile("numeric(?:\\((\\d+),(\\d+)\\))?");
    private static final List<String> INTEGERS = List.of("smallint", "integer", "bigint");

    private TypeWidening() {
    }

    /** Whether every value of {@code from} is a value of {@code to}, unchanged. */
    public static boolean widens(String from, String to) {
        if (from.equals(to)) {
            return false;
        }
        Matcher fromVarchar = VARCHAR.matcher(from);
        if (fromVarchar.matches()) {
            if (to.equals("text")) {
                return true;
            }
            Matcher toVarchar = VARCHAR.matcher(to);
            return toVarchar.matches() && (toVarchar.group(1) == null
                    || fromVarchar.group(1) != null && Integer.parseInt(toVarchar.group(1)) > Integer.parseInt(fromVarchar.group(1)));
        }
        if (INTEGERS.contains(from) && INTEGERS.contains(to)) {
            return INTEGERS.indexOf(to) > INTEGERS.indexOf(from);
        }
        if (INTEGERS.contains(from) && to.equals("numeric")) {
            return true;
        }
        Matcher fromNumeric = NUMERIC.matcher(from);
        Matcher toNumeric = NUMERIC.matcher(to);
        if (fromNumeric.matches() && toNumeric.matches()) {
            if (toNumeric.group(1) == null) {
                return true;
            }
            if (fromNumeric.group(1) == null) {
                return false;
            }
            int fromScale = Integer.parseInt(fromNumeric.group(2));
            int toScale = Integer.parseInt(toNumeric.group(2));
            int fromInteger = Integer.parseInt(fromNumeric.group(1)) - fromScale;
            int toInteger = Integer.parseInt(toNumeric.group(1)) - toScale;
            return toScale >= fromScale && toInteger >= fromInteger;
        }
        return from.equals("real") && to.equals("double precision");
    }
}
