package dev.strangler.core.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Strings;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.BooleanValue;
import net.sf.jsqlparser.expression.DoubleValue;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.NotExpression;
import net.sf.jsqlparser.expression.NullValue;
import net.sf.jsqlparser.expression.Parenthesis;
import net.sf.jsqlparser.expression.SignedExpression;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.operators.arithmetic.Addition;
import net.sf.jsqlparser.expression.operators.arithmetic.Division;
import net.sf.jsqlparser.expression.operators.arithmetic.Multiplication;
import net.sf.jsqlparser.expression.operators.arithmetic.Subtraction;
import net.sf.jsqlparser.expression.operators.conditional.AndExpression;
import net.sf.jsqlparser.expression.operators.conditional.OrExpression;
import net.sf.jsqlparser.expression.operators.relational.Between;
import net.sf.jsqlparser.expression.operators.relational.ComparisonOperator;
import net.sf.jsqlparser.expression.operators.relational.EqualsTo;
import net.sf.jsqlparser.expression.operators.relational.ExpressionList;
import net.sf.jsqlparser.expression.operators.relational.GreaterThan;
import net.sf.jsqlparser.expression.operators.relational.GreaterThanEquals;
import net.sf.jsqlparser.expression.operators.relational.InExpression;
import net.sf.jsqlparser.expression.operators.relational.IsNullExpression;
import net.sf.jsqlparser.expression.operators.relational.LikeExpression;
import net.sf.jsqlparser.expression.operators.relational.MinorThan;
import net.sf.jsqlparser.expression.operators.relational.MinorThanEquals;
import net.sf.jsqlparser.expression.operators.relational.NotEqualsTo;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** A SQL condition compiled to a tree of small evaluators over a JSON row image. */
public final class SqlCondition {

    /** An expression node; returns Boolean, BigDecimal, String or null (SQL NULL / unknown). */
    private interface Node {
        Object eval(ObjectNode row);
    }

    private final Node root;
    private final Set<String> columns;

    private SqlCondition(Node root, Set<String> columns) {
        this.root = root;
        this.columns = Set.copyOf(columns);
    }

    public static SqlCondition compile(String text) {
        Expression parsed;
        try {
            parsed = CCJSqlParserUtil.parseCondExpression(text, false);
        } catch (JSQLParserException | RuntimeException e) {
            String reason = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : String.valueOf(e.getMessage());
            throw new IllegalArgumentException("'" + text + "' is not a SQL condition: " + Strings.firstLine(reason));
        }
        Set<String> columns = new LinkedHashSet<>();
        Node node = compile(parsed, columns, text);
        return new SqlCondition(node, columns);
    }

    public boolean test(ObjectNode row) {
        return Boolean.TRUE.equals(root.eval(row));
    }

    public Set<String> columns() {
        return columns;
    }

    private static Node compile(Expression e, Set<String> columns, String text) {
        if (e instanceof Parenthesis p) {
            return compile(p.getExpression(), columns, text);
        }
        if (e instanceof ExpressionList<?> list && list.size() == 1) {
            return compile(list.get(0), columns, text);
        }
        if (e instanceof AndExpression and) {
            Node l = compile(and.getLeftExpression(), columns, text);
            Node r = compile(and.getRightExpression(), columns, text);
            return row -> and3(l.eval(row), r.eval(row));
        }
        if (e instanceof OrExpression or) {
            Node l = compile(or.getLeftExpression(), columns, text);
            Node r = compile(or.getRightExpression(), columns, text);
            return row -> or3(l.eval(row), r.eval(row));
        }
        if (e instanceof NotExpression not) {
            Node inner = compile(not.getExpression(), columns, text);
            return row -> not3(inner.eval(row));
        }
        if (e instanceof ComparisonOperator cmp) {
            Node l = compile(cmp.getLeftExpression(), columns, text);
            Node r = compile(cmp.getRightExpression(), columns, text);
            Comparison test = comparison(cmp, text);
            return row -> {
                Integer c = compare(l.eval(row), r.eval(row));
                return c == null ? null : test.holds(c);
            };
        }
        if (e instanceof IsNullExpression isNull) {
            Node inner = compile(isNull.getLeftExpression(), columns, text);
            boolean not = isNull.isNot();
            return row -> (inner.eval(row) == null) != not;
        }
        if (e instanceof InExpression in) {
            Node left = compile(in.getLeftExpression(), columns, text);
            if (!(in.getRightExpression() instanceof ExpressionList<?> list)) {
                throw unsupported("IN with a sub-query", text);
            }
            List<Node> options = new ArrayList<>();
            for (Expression option : list) {
                options.add(compile(option, columns, text));
            }
            boolean not = in.isNot();
            return row -> {
                Object value = left.eval(row);
                if (value == null) {
                    return null;
                }
                boolean sawNull = false;
                for (Node option : options) {
                    Object o = option.eval(row);
                    if (o == null) {
                        sawNull = true;
                    } else if (Integer.valueOf(0).equals(compare(value, o))) {
                        return !not;
                    }
                }
                return sawNull ? null : not;
            };
        }
        if (e instanceof LikeExpression like) {
            if (like.getLikeKeyWord() != LikeExpression.KeyWord.LIKE && like.getLikeKeyWord() != LikeExpression.KeyWord.ILIKE) {
                throw unsupported(like.getLikeKeyWord().toString(), text);
            }
            Node l = compile(like.getLeftExpression(), columns, text);
            if (!(like.getRightExpression() instanceof StringValue pattern)) {
                throw unsupported("LIKE with a pattern that is not a string literal", text);
            }
            Pattern regex = likePattern(pattern.getValue(), like.getLikeKeyWord() == LikeExpression.KeyWord.ILIKE);
            boolean not = like.isNot();
            return row -> {
                Object value = l.eval(row);
                return value == null ? null : regex.matcher(String.valueOf(value)).matches() != not;
            };
        }
        if (e instanceof Between between) {
            Node v = compile(between.getLeftExpression(), columns, text);
            Node lo = compile(between.getBetweenExpressionStart(), columns, text);
            Node hi = compile(between.getBetweenExpressionEnd(), columns, text);
            boolean not = between.isNot();
            return row -> {
                Object value = v.eval(row);
                Integer a = compare(value, lo.eval(row));
                Integer b = compare(value, hi.eval(row));
                Object inside = and3(a == null ? null : a >= 0, b == null ? null : b <= 0);
                return not ? not3(inside) : inside;
            };
        }
        if (e instanceof Addition || e instanceof Subtraction || e instanceof Multiplication || e instanceof Division) {
            var bin = (net.sf.jsqlparser.expression.BinaryExpression) e;
            Node l = compile(bin.getLeftExpression(), columns, text);
            Node r = compile(bin.getRightExpression(), columns, text);
            char op = e instanceof Addition ? '+' : e instanceof Subtraction ? '-' : e instanceof Multiplication ? '*' : '/';
            return row -> arithmetic(op, number(l.eval(row)), number(r.eval(row)));
        }
        if (e instanceof SignedExpression signed) {
            Node inner = compile(signed.getExpression(), columns, text);
            boolean negate = signed.getSign() == '-';
            return row -> {
                BigDecimal n = number(inner.eval(row));
                return n == null ? null : negate ? n.negate() : n;
            };
        }
        if (e instanceof StringValue s) {
            String value = s.getValue().replace("''", "'");
            return row -> value;
        }
        if (e instanceof LongValue l) {
            BigDecimal value = new BigDecimal(l.getStringValue());
            return row -> value;
        }
        if (e instanceof DoubleValue d) {
            BigDecimal value = BigDecimal.valueOf(d.getValue());
            return row -> value;
        }
        if (e instanceof NullValue) {
            return row -> null;
        }
        if (e instanceof BooleanValue b) {
            Boolean value = b.getValue();
            return row -> value;
        }
        if (e instanceof Column c) {
            String name = c.getColumnName();
            if (c.getTable() != null && c.getTable().getName() != null) {
                throw unsupported("qualified column " + c, text);
            }
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("true") || lower.equals("false")) {
                Boolean value = Boolean.valueOf(lower);
                return row -> value;
            }
            String column = name.startsWith("\"") && name.endsWith("\"") ? name.substring(1, name.length() - 1) : lower;
            columns.add(column);
            return row -> value(row.get(column));
        }
        throw unsupported(e.getClass().getSimpleName().replace("Expression", "") + " (" + e + ")", text);
    }

    private interface Comparison {
        boolean holds(int c);
    }

    private static Comparison comparison(ComparisonOperator cmp, String text) {
        if (cmp instanceof EqualsTo) {
            return c -> c == 0;
        }
        if (cmp instanceof NotEqualsTo) {
            return c -> c != 0;
        }
        if (cmp instanceof GreaterThan) {
            return c -> c > 0;
        }
        if (cmp instanceof GreaterThanEquals) {
            return c -> c >= 0;
        }
        if (cmp instanceof MinorThan) {
            return c -> c < 0;
        }
        if (cmp instanceof MinorThanEquals) {
            return c -> c <= 0;
        }
        throw unsupported("operator " + cmp.getStringExpression(), text);
    }

    private static Object value(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isNumber()) {
            return v.decimalValue();
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        return v.toString();
    }

    /** Compares two non-null values: numbers numerically (text that reads as a number counts), else as text. */
    static Integer compare(Object a, Object b) {
        if (a == null || b == null) {
            return null;
        }
        if (a instanceof Boolean || b instanceof Boolean) {
            Boolean x = bool(a);
            Boolean y = bool(b);
            return x == null || y == null ? Integer.valueOf(String.valueOf(a).compareTo(String.valueOf(b))) : Integer.valueOf(Boolean.compare(x, y));
        }
        if (a instanceof BigDecimal || b instanceof BigDecimal) {
            BigDecimal x = number(a);
            BigDecimal y = number(b);
            if (x != null && y != null) {
                return x.compareTo(y);
            }
        }
        return String.valueOf(a).compareTo(String.valueOf(b));
    }

    private static Boolean bool(Object o) {
        if (o instanceof Boolean b) {
            return b;
        }
        String s = String.valueOf(o).toLowerCase(Locale.ROOT);
        return s.equals("true") || s.equals("t") ? Boolean.TRUE : s.equals("false") || s.equals("f") ? Boolean.FALSE : null;
    }

    private static BigDecimal number(Object o) {
        if (o == null) {
            return null;
        }
        if (o instanceof BigDecimal d) {
            return d;
        }
        try {
            return new BigDecimal(String.valueOf(o).trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Object arithmetic(char op, BigDecimal a, BigDecimal b) {
        if (a == null || b == null) {
            return null;
        }
        return switch (op) {
            case '+' -> a.add(b);
            case '-' -> a.subtract(b);
            case '*' -> a.multiply(b);
            default -> b.signum() == 0 ? null : a.divide(b, MathContext.DECIMAL128);
        };
    }

    private static Object and3(Object a, Object b) {
        if (Boolean.FALSE.equals(a) || Boolean.FALSE.equals(b)) {
            return false;
        }
        return a == null || b == null ? null : Boolean.TRUE.equals(a) && Boolean.TRUE.equals(b);
    }

    private static Object or3(Object a, Object b) {
        if (Boolean.TRUE.equals(a) || Boolean.TRUE.equals(b)) {
            return true;
        }
        return a == null || b == null ? null : false;
    }

    private static Object not3(Object a) {
        return a == null ? null : !Boolean.TRUE.equals(a);
    }

    private static Pattern likePattern(String like, boolean ignoreCase) {
        StringBuilder regex = new StringBuilder();
        for (char c : like.toCharArray()) {
            if (c == '%') {
                regex.append(".*");
            } else if (c == '_') {
                regex.append('.');
            } else {
                regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL | (ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0));
    }

    private static IllegalArgumentException unsupported(String what, String text) {
        return new IllegalArgumentException("'" + text + "': " + what + " is not supported in a row filter"
                + " (supported: comparisons, AND/OR/NOT, IS NULL, IN, LIKE, BETWEEN, + - * /; see docs/configuration.md)");
    }

}
