package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.internal.SqlExpression;

import java.util.Set;

/**
 * An expression over a row's columns, in SQL ({@code first_name || ' ' || last_name},
 * {@code round(total * 100)}): a derived column's value or a row rule. Evaluated on a change's row image
 * without a database, with PostgreSQL's semantics for the supported subset (docs/transforms.md), so that
 * the validator can compute the same value inside PostgreSQL.
 */
public final class ColumnExpression {

    /** A value the expression cannot compute for a row (a failed cast, a division by zero). */
    public static final class EvaluationException extends RuntimeException {
        EvaluationException(String message) {
            super(message);
        }
    }

    private final SqlExpression expression;

    private ColumnExpression(SqlExpression expression) {
        this.expression = expression;
    }

    /** A value expression (a derived column). @throws IllegalArgumentException naming what is wrong */
    public static ColumnExpression value(String text) {
        return new ColumnExpression(SqlExpression.compile(text, SqlExpression.Use.DERIVED));
    }

    /** A condition (a row rule). @throws IllegalArgumentException naming what is wrong */
    public static ColumnExpression condition(String text) {
        return new ColumnExpression(SqlExpression.compile(text, SqlExpression.Use.RULE));
    }

    /** The value as a row image carries it (numbers with a fraction as text, as Debezium sends numeric). */
    public JsonNode evaluate(ObjectNode row) {
        try {
            return SqlExpression.toJson(expression.evaluate(row));
        } catch (SqlExpression.EvaluationException e) {
            throw new EvaluationException("'" + expression.text() + "': " + e.getMessage());
        }
    }

    /** The value as PostgreSQL's {@code ::text} would print it (dates and timestamps ISO-8601), or null. */
    public String evaluateText(ObjectNode row) {
        try {
            return SqlExpression.toText(expression.evaluate(row));
        } catch (SqlExpression.EvaluationException e) {
            throw new EvaluationException("'" + expression.text() + "': " + e.getMessage());
        }
    }

    /** Whether the condition holds: false when it fails or is unknown (NULL). */
    public boolean holds(ObjectNode row) {
        try {
            return expression.test(row);
        } catch (SqlExpression.EvaluationException e) {
            throw new EvaluationException("'" + expression.text() + "': " + e.getMessage());
        }
    }

    public Set<String> columns() {
        return expression.columns();
    }

    public String text() {
        return expression.text();
    }

    @Override
    public String toString() {
        return expression.text();
    }
}
