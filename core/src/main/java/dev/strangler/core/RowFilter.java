package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.internal.SqlExpression;

import java.util.Set;

/**
 * A row filter written as a SQL condition ({@code status <> 'draft' and total >= 10}), evaluated on a
 * change's row image without a database. Parsed by JSqlParser when the config is loaded, so a bad
 * filter is a config error, not a runtime one.
 *
 * <p>The expression language of {@link SqlExpression} (docs/transforms.md). SQL's three-valued logic
 * holds: a comparison with NULL is unknown, and a row whose condition is unknown does not pass. Numbers
 * carried as text (numeric columns) compare as numbers.
 */
public final class RowFilter {

    private final String text;
    private final SqlExpression condition;

    private RowFilter(String text, SqlExpression condition) {
        this.text = text;
        this.condition = condition;
    }

    /**
     * @throws IllegalArgumentException with a message naming what is not supported or cannot be parsed
     */
    public static RowFilter compile(String text) {
        return new RowFilter(text, SqlExpression.compile(text, SqlExpression.Use.FILTER));
    }

    /** True when the row passes; false when it fails or the condition is unknown (NULL). */
    public boolean test(ObjectNode row) {
        try {
            return condition.test(row);
        } catch (SqlExpression.EvaluationException e) {
            // a value the condition cannot compute (a division by zero): unknown, so the row does not pass
            return false;
        }
    }

    /** Columns the condition reads, to check against the table's columns at start-up. */
    public Set<String> columns() {
        return condition.columns();
    }

    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return text;
    }
}
