package dev.strangler.validator;

import java.util.List;
import java.util.Map;

/**
 * One key whose row differs between the monolith and the service.
 *
 * @param key     the key's columns (service names) and values, as text
 * @param columns for {@link Kind#DIFFERENT}: the service columns whose values differ
 */
public record Drift(Kind kind, Map<String, String> key, List<String> columns) {

    /** How a row differs. */
    public enum Kind {
        /** the monolith has the row, the service does not */
        MISSING,
        /** the service has a row the monolith does not (or that the route's filter excludes) */
        EXTRA,
        /** both have the row with different values */
        DIFFERENT
    }

    public Drift {
        key = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(key));
        columns = List.copyOf(columns);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " " + key + (columns.isEmpty() ? "" : " " + columns);
    }
}
