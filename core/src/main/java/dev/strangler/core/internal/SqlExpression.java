package dev.strangler.core.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Strings;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.BooleanValue;
import net.sf.jsqlparser.expression.CaseExpression;
import net.sf.jsqlparser.expression.CastExpression;
import net.sf.jsqlparser.expression.DoubleValue;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExtractExpression;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.NotExpression;
import net.sf.jsqlparser.expression.NullValue;
import net.sf.jsqlparser.expression.Parenthesis;
import net.sf.jsqlparser.expression.SignedExpression;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.TimeKeyExpression;
import net.sf.jsqlparser.expression.TrimFunction;
import net.sf.jsqlparser.expression.WhenClause;
import net.sf.jsqlparser.expression.operators.arithmetic.Addition;
import net.sf.jsqlparser.expression.operators.arithmetic.Concat;
import net.sf.jsqlparser.expression.operators.arithmetic.Division;
import net.sf.jsqlparser.expression.operators.arithmetic.Modulo;
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
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A SQL expression (PostgreSQL's syntax and semantics for the supported subset) compiled to a tree of
 * small evaluators over a JSON row image. Row filters, derived columns, casts and row rules use it; the
 * validator can push the same text into PostgreSQL, which is why it is SQL and why the Java semantics
 * follow PostgreSQL's (ExpressionParityIT checks every function against PostgreSQL itself).
 *
 * <p>Values are {@code null} (SQL NULL), {@link Boolean}, {@link Long} (integers), {@link BigDecimal}
 * (numeric), or {@link String} (text; dates and timestamps are ISO-8601 text, as changes carry them).
 * Supported: column names, literals, {@code = <> != < <= > >=}, {@code AND OR NOT}, {@code IS [NOT] NULL},
 * {@code [NOT] IN (...)}, {@code [NOT] [I]LIKE}, {@code [NOT] BETWEEN}, {@code + - * / %}, {@code ||},
 * {@code CASE}, {@code CAST(x AS type)} and {@code x::type}, and the functions of {@link #FUNCTIONS}.
 */
public final class SqlExpression {

    /** What a compiled expression is used for; named in error messages. */
    public enum Use {
        FILTER("a row filter"), DERIVED("a derived column"), RULE("a row rule"), CAST("a cast");

        private final String words;

        Use(String words) {
            this.words = words;
        }
    }

    /** A value that cannot be computed for this row (a failed cast, a division by zero). */
    public static final class EvaluationException extends RuntimeException {
        public EvaluationException(String message) {
            super(message);
        }
    }

    /** The functions, by name: what a user may call. */
    public static final List<String> FUNCTIONS = List.of(
            "upper", "lower", "trim", "ltrim", "rtrim", "length", "substr", "substring", "replace", "left", "right", "split_part",
            "lpad", "rpad", "concat", "md5",
            "round", "trunc", "floor", "ceil", "ceiling", "abs", "mod", "greatest", "least",
            "date_trunc", "date_part", "extract",
            "coalesce", "nullif");

    private static final Set<String> NOT_DETERMINISTIC = Set.of("now", "random", "clock_timestamp", "current_timestamp",
            "current_date", "localtimestamp", "statement_timestamp", "gen_random_uuid", "uuid_generate_v4");

    /** An expression node. */
    private interface Node {
        Object eval(ObjectNode row);
    }

    private final String text;
    private final Node root;
    private final Set<String> columns;

    private SqlExpression(String text, Node root, Set<String> columns) {
        this.text = text;
        this.root = root;
        this.columns = Set.copyOf(columns);
    }

    /**
     * @throws IllegalArgumentException naming what cannot be parsed or is not supported
     */
    public static SqlExpression compile(String text, Use use) {
        Expression parsed;
        try {
            parsed = use == Use.FILTER || use == Use.RULE ? CCJSqlParserUtil.parseCondExpression(text, false)
                    : CCJSqlParserUtil.parseExpression(text, false);
        } catch (JSQLParserException | RuntimeException e) {
            String reason = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : String.valueOf(e.getMessage());
            throw new IllegalArgumentException("'" + text + "' is not a SQL " + (use == Use.FILTER || use == Use.RULE ? "condition" : "expression")
                    + ": " + Strings.firstLine(reason));
        }
        Set<String> columns = new LinkedHashSet<>();
        Node node = new Compiler(text, use, columns).compile(parsed);
        return new SqlExpression(text, node, columns);
    }

    /** The expression's value for the row: null, Boolean, Long, BigDecimal or String. */
    public Object evaluate(ObjectNode row) {
        return root.eval(row);
    }

    /** True when the condition holds; false when it fails or is unknown (NULL). */
    public boolean test(ObjectNode row) {
        return Boolean.TRUE.equals(root.eval(row));
    }

    /** Columns the expression reads. */
    public Set<String> columns() {
        return columns;
    }

    public String text() {
        return text;
    }

    /** A value as the JSON a row image carries. */
    public static JsonNode toJson(Object value) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value == null) {
            return f.nullNode();
        }
        if (value instanceof Boolean b) {
            return f.booleanNode(b);
        }
        if (value instanceof Long l) {
            return f.numberNode(l);
        }
        if (value instanceof BigDecimal d) {
            // numeric values travel as text (Debezium's decimal.handling.mode=string), exactly
            return f.textNode(d.toPlainString());
        }
        return f.textNode(String.valueOf(value));
    }

    /** A value as PostgreSQL prints it with {@code ::text}. */
    public static String toText(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof BigDecimal d) {
            return d.toPlainString();
        }
        return String.valueOf(value);
    }

    // ---------------------------------------------------------------------------------------------

    private static final class Compiler {
        private final String text;
        private final Use use;
        private final Set<String> columns;

        Compiler(String text, Use use, Set<String> columns) {
            this.text = text;
            this.use = use;
            this.columns = columns;
        }

        Node compile(Expression e) {
            if (e instanceof Parenthesis p) {
                return compile(p.getExpression());
            }
            if (e instanceof ExpressionList<?> list && list.size() == 1) {
                return compile(list.get(0));
            }
            if (e instanceof AndExpression and) {
                Node l = compile(and.getLeftExpression());
                Node r = compile(and.getRightExpression());
                return row -> and3(l.eval(row), r.eval(row));
            }
            if (e instanceof OrExpression or) {
                Node l = compile(or.getLeftExpression());
                Node r = compile(or.getRightExpression());
                return row -> or3(l.eval(row), r.eval(row));
            }
            if (e instanceof NotExpression not) {
                Node inner = compile(not.getExpression());
                return row -> not3(inner.eval(row));
            }
            if (e instanceof ComparisonOperator cmp) {
                Node l = compile(cmp.getLeftExpression());
                Node r = compile(cmp.getRightExpression());
                Comparison test = comparison(cmp);
                return row -> {
                    Integer c = compare(l.eval(row), r.eval(row));
                    return c == null ? null : test.holds(c);
                };
            }
            if (e instanceof IsNullExpression isNull) {
                Node inner = compile(isNull.getLeftExpression());
                boolean not = isNull.isNot();
                return row -> (inner.eval(row) == null) != not;
            }
            if (e instanceof InExpression in) {
                return in(in);
            }
            if (e instanceof LikeExpression like) {
                return like(like);
            }
            if (e instanceof Between between) {
                Node v = compile(between.getLeftExpression());
                Node lo = compile(between.getBetweenExpressionStart());
                Node hi = compile(between.getBetweenExpressionEnd());
                boolean not = between.isNot();
                return row -> {
                    Object value = v.eval(row);
                    Integer a = compare(value, lo.eval(row));
                    Integer b = compare(value, hi.eval(row));
                    Object inside = and3(a == null ? null : a >= 0, b == null ? null : b <= 0);
                    return not ? not3(inside) : inside;
                };
            }
            if (e instanceof Concat concat) {
                Node l = compile(concat.getLeftExpression());
                Node r = compile(concat.getRightExpression());
                return row -> {
                    Object a = l.eval(row);
                    Object b = r.eval(row);
                    return a == null || b == null ? null : toText(a) + toText(b);
                };
            }
            if (e instanceof Addition || e instanceof Subtraction || e instanceof Multiplication || e instanceof Division
                    || e instanceof Modulo) {
                var bin = (net.sf.jsqlparser.expression.BinaryExpression) e;
                Node l = compile(bin.getLeftExpression());
                Node r = compile(bin.getRightExpression());
                char op = e instanceof Addition ? '+' : e instanceof Subtraction ? '-' : e instanceof Multiplication ? '*'
                        : e instanceof Division ? '/' : '%';
                return row -> arithmetic(op, l.eval(row), r.eval(row));
            }
            if (e instanceof SignedExpression signed) {
                Node inner = compile(signed.getExpression());
                boolean negate = signed.getSign() == '-';
                return row -> {
                    Object v = inner.eval(row);
                    if (v == null || !negate) {
                        return v;
                    }
                    if (v instanceof Long l) {
                        return Math.negateExact(l);
                    }
                    return numeric(v, "-").negate();
                };
            }
            if (e instanceof CaseExpression c) {
                return caseWhen(c);
            }
            if (e instanceof CastExpression cast) {
                Node inner = compile(cast.getLeftExpression());
                Cast to = Cast.of(cast.getColDataType().getDataType(), cast.getColDataType().getArgumentsStringList(), text, use);
                return row -> to.apply(inner.eval(row));
            }
            if (e instanceof TrimFunction trim) {
                if (trim.getExpression() == null || trim.getFromExpression() != null || trim.getTrimSpecification() != null) {
                    throw unsupported("TRIM with BOTH/LEADING/TRAILING or FROM (use trim(s), ltrim(s), rtrim(s))");
                }
                Node inner = compile(trim.getExpression());
                return row -> {
                    Object v = inner.eval(row);
                    return v == null ? null : strip(toText(v), true, true);
                };
            }
            if (e instanceof ExtractExpression extract) {
                Node inner = compile(extract.getExpression());
                String field = extract.getName().toLowerCase(Locale.ROOT);
                checkDatePart(field);
                return row -> datePart(field, inner.eval(row));
            }
            if (e instanceof Function f) {
                return function(f);
            }
            if (e instanceof TimeKeyExpression key) {
                throw unsupported(key + ": not deterministic (a change applied again must give the same row)");
            }
            if (e instanceof StringValue s) {
                String value = s.getValue().replace("''", "'");
                return row -> value;
            }
            if (e instanceof LongValue l) {
                Object value = l.getStringValue().length() < 19 ? (Object) l.getValue() : new BigDecimal(l.getStringValue());
                return row -> value;
            }
            if (e instanceof DoubleValue d) {
                BigDecimal value = new BigDecimal(d.toString());
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
                    throw unsupported("qualified column " + c);
                }
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.equals("true") || lower.equals("false")) {
                    Boolean value = Boolean.valueOf(lower);
                    return row -> value;
                }
                String column = name.startsWith("\"") && name.endsWith("\"") ? name.substring(1, name.length() - 1) : lower;
                columns.add(column);
                return row -> fromJson(row.get(column));
            }
            throw unsupported(e.getClass().getSimpleName().replace("Expression", "") + " (" + e + ")");
        }

        private Node in(InExpression in) {
            Node left = compile(in.getLeftExpression());
            if (!(in.getRightExpression() instanceof ExpressionList<?> list)) {
                throw unsupported("IN with a sub-query");
            }
            List<Node> options = new ArrayList<>();
            for (Expression option : list) {
                options.add(compile(option));
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

        private Node like(LikeExpression like) {
            if (like.getLikeKeyWord() != LikeExpression.KeyWord.LIKE && like.getLikeKeyWord() != LikeExpression.KeyWord.ILIKE) {
                throw unsupported(like.getLikeKeyWord().toString());
            }
            Node l = compile(like.getLeftExpression());
            if (!(like.getRightExpression() instanceof StringValue pattern)) {
                throw unsupported("LIKE with a pattern that is not a string literal");
            }
            Pattern regex = likePattern(pattern.getValue(), like.getLikeKeyWord() == LikeExpression.KeyWord.ILIKE);
            boolean not = like.isNot();
            return row -> {
                Object value = l.eval(row);
                return value == null ? null : regex.matcher(toText(value)).matches() != not;
            };
        }

        private Node caseWhen(CaseExpression c) {
            Node subject = c.getSwitchExpression() == null ? null : compile(c.getSwitchExpression());
            List<Node[]> branches = new ArrayList<>();
            for (WhenClause when : c.getWhenClauses()) {
                branches.add(new Node[] {compile(when.getWhenExpression()), compile(when.getThenExpression())});
            }
            Node otherwise = c.getElseExpression() == null ? row -> null : compile(c.getElseExpression());
            return row -> {
                Object value = subject == null ? null : subject.eval(row);
                for (Node[] branch : branches) {
                    Object w = branch[0].eval(row);
                    boolean taken = subject == null ? Boolean.TRUE.equals(w) : Integer.valueOf(0).equals(compare(value, w));
                    if (taken) {
                        return branch[1].eval(row);
                    }
                }
                return otherwise.eval(row);
            };
        }

        private Node function(Function f) {
            String name = f.getName().toLowerCase(Locale.ROOT);
            if (NOT_DETERMINISTIC.contains(name)) {
                throw unsupported(name + "(): not deterministic (a change applied again must give the same row)");
            }
            if (f.isDistinct() || f.isAllColumns() || f.getNamedParameters() != null) {
                throw unsupported(f.toString());
            }
            List<Node> args = new ArrayList<>();
            if (f.getParameters() != null) {
                for (Expression p : f.getParameters()) {
                    args.add(compile(p));
                }
            }
            int n = args.size();
            switch (name) {
                case "upper", "lower", "ltrim", "rtrim", "length", "md5", "floor", "ceil", "ceiling", "abs" -> arity(name, n, 1, 1);
                case "trim" -> arity(name, n, 1, 1);
                case "substr", "substring" -> arity(name, n, 2, 3);
                case "replace", "split_part" -> arity(name, n, 3, 3);
                case "left", "right", "mod", "nullif", "date_trunc", "date_part" -> arity(name, n, 2, 2);
                case "lpad", "rpad" -> arity(name, n, 2, 3);
                case "round", "trunc" -> arity(name, n, 1, 2);
                case "concat", "coalesce", "greatest", "least" -> arity(name, n, 1, Integer.MAX_VALUE);
                default -> throw unsupported("function " + name + "() (supported: " + String.join(", ", FUNCTIONS) + ")");
            }
            if (name.equals("date_trunc") || name.equals("date_part")) {
                if (!(f.getParameters().get(0) instanceof StringValue unit)) {
                    throw unsupported(name + " with a unit that is not a string literal");
                }
                String u = unit.getValue().toLowerCase(Locale.ROOT);
                if (name.equals("date_trunc")) {
                    checkTruncUnit(u);
                    Node ts = args.get(1);
                    return row -> dateTrunc(u, ts.eval(row));
                }
                checkDatePart(u);
                Node ts = args.get(1);
                return row -> datePart(u, ts.eval(row));
            }
            Node a = n > 0 ? args.get(0) : null;
            Node b = n > 1 ? args.get(1) : null;
            Node c = n > 2 ? args.get(2) : null;
            return switch (name) {
                case "upper" -> row -> text(a.eval(row), s -> s.toUpperCase(Locale.ROOT));
                case "lower" -> row -> text(a.eval(row), s -> s.toLowerCase(Locale.ROOT));
                case "trim" -> row -> text(a.eval(row), s -> strip(s, true, true));
                case "ltrim" -> row -> text(a.eval(row), s -> strip(s, true, false));
                case "rtrim" -> row -> text(a.eval(row), s -> strip(s, false, true));
                case "length" -> row -> {
                    Object v = a.eval(row);
                    return v == null ? null : (Object) (long) toText(v).codePointCount(0, toText(v).length());
                };
                case "md5" -> row -> text(a.eval(row), SqlExpression::md5);
                case "substr", "substring" -> row -> substr(a.eval(row), b.eval(row), c == null ? null : c.eval(row), c != null);
                case "replace" -> row -> {
                    Object s = a.eval(row);
                    Object from = b.eval(row);
                    Object to = c.eval(row);
                    if (s == null || from == null || to == null) {
                        return null;
                    }
                    String f0 = toText(from);
                    return f0.isEmpty() ? toText(s) : toText(s).replace(f0, toText(to));
                };
                case "left", "right" -> row -> leftRight(name.equals("left"), a.eval(row), b.eval(row));
                case "split_part" -> row -> splitPart(a.eval(row), b.eval(row), c.eval(row));
                case "lpad", "rpad" -> row -> pad(name.equals("lpad"), a.eval(row), b.eval(row), c == null ? " " : c.eval(row));
                case "concat" -> row -> {
                    StringBuilder out = new StringBuilder();
                    for (Node arg : args) {
                        Object v = arg.eval(row);
                        if (v != null) {
                            out.append(toText(v));
                        }
                    }
                    return out.toString();
                };
                case "round", "trunc" -> row -> roundOrTrunc(name.equals("round"), a.eval(row), b == null ? null : b.eval(row), b != null);
                case "floor" -> row -> a.eval(row) == null ? null : a.eval(row) instanceof Long l ? l
                        : numeric(a.eval(row), "floor").setScale(0, RoundingMode.FLOOR);
                case "ceil", "ceiling" -> row -> a.eval(row) == null ? null : a.eval(row) instanceof Long l ? l
                        : numeric(a.eval(row), "ceil").setScale(0, RoundingMode.CEILING);
                case "abs" -> row -> {
                    Object v = a.eval(row);
                    return v == null ? null : v instanceof Long l ? (Object) Math.absExact(l) : numeric(v, "abs").abs();
                };
                case "mod" -> row -> arithmetic('%', a.eval(row), b.eval(row));
                case "nullif" -> row -> {
                    Object x = a.eval(row);
                    return Integer.valueOf(0).equals(compare(x, b.eval(row))) ? null : x;
                };
                case "coalesce" -> row -> {
                    for (Node arg : args) {
                        Object v = arg.eval(row);
                        if (v != null) {
                            return v;
                        }
                    }
                    return null;
                };
                case "greatest", "least" -> row -> {
                    Object best = null;
                    for (Node arg : args) {
                        Object v = arg.eval(row);
                        if (v != null && (best == null || (name.equals("greatest") ? compare(v, best) > 0 : compare(v, best) < 0))) {
                            best = v;
                        }
                    }
                    return best;
                };
                default -> throw new IllegalStateException(name);
            };
        }

        private void arity(String name, int n, int min, int max) {
            if (n < min || n > max) {
                throw unsupported(name + "() with " + n + " argument" + (n == 1 ? "" : "s") + " (it takes "
                        + (min == max ? String.valueOf(min) : max == Integer.MAX_VALUE ? "at least " + min : min + " or " + max) + ")");
            }
        }

        private void checkTruncUnit(String unit) {
            if (!Set.of("year", "quarter", "month", "week", "day", "hour", "minute", "second").contains(unit)) {
                throw unsupported("date_trunc unit '" + unit + "' (supported: year, quarter, month, week, day, hour, minute, second)");
            }
        }

        private void checkDatePart(String field) {
            if (!Set.of("year", "quarter", "month", "day", "hour", "minute", "second", "dow", "isodow", "doy", "week", "epoch").contains(field)) {
                throw unsupported("date part '" + field + "' (supported: year, quarter, month, day, hour, minute, second, dow, isodow, doy, week, epoch)");
            }
        }

        private Comparison comparison(ComparisonOperator cmp) {
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
            throw unsupported("operator " + cmp.getStringExpression());
        }

        private IllegalArgumentException unsupported(String what) {
            return new IllegalArgumentException("'" + text + "': " + what + " is not supported in " + use.words
                    + " (see docs/transforms.md for the expression language)");
        }
    }

    private interface Comparison {
        boolean holds(int c);
    }

    // ----- values -----

    /** A row image's value as an expression value: null, Boolean, Long, BigDecimal or String. */
    public static Object fromJson(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
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
            return x == null || y == null ? Integer.valueOf(toText(a).compareTo(toText(b))) : Integer.valueOf(Boolean.compare(x, y));
        }
        if (a instanceof Long x && b instanceof Long y) {
            return Long.compare(x, y);
        }
        if (a instanceof Number || b instanceof Number) {
            BigDecimal x = number(a);
            BigDecimal y = number(b);
            if (x != null && y != null) {
                return x.compareTo(y);
            }
        }
        return toText(a).compareTo(toText(b));
    }

    private static Boolean bool(Object o) {
        if (o instanceof Boolean b) {
            return b;
        }
        String s = toText(o).trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "true", "t", "yes", "y", "on", "1" -> Boolean.TRUE;
            case "false", "f", "no", "n", "off", "0" -> Boolean.FALSE;
            default -> null;
        };
    }

    private static BigDecimal number(Object o) {
        if (o == null) {
            return null;
        }
        if (o instanceof BigDecimal d) {
            return d;
        }
        if (o instanceof Long l) {
            return BigDecimal.valueOf(l);
        }
        try {
            return new BigDecimal(toText(o).trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A number for an operator or function, or an evaluation error naming the value. */
    private static BigDecimal numeric(Object o, String what) {
        BigDecimal n = number(o);
        if (n == null) {
            throw new EvaluationException(what + ": '" + toText(o) + "' is not a number");
        }
        return n;
    }

    private static Object arithmetic(char op, Object a, Object b) {
        if (a == null || b == null) {
            return null;
        }
        if (a instanceof Long x && b instanceof Long y) {
            try {
                return switch (op) {
                    case '+' -> Math.addExact(x, y);
                    case '-' -> Math.subtractExact(x, y);
                    case '*' -> Math.multiplyExact(x, y);
                    case '/' -> {
                        if (y == 0) {
                            throw new EvaluationException("division by zero");
                        }
                        yield x / y;
                    }
                    default -> {
                        if (y == 0) {
                            throw new EvaluationException("division by zero");
                        }
                        yield x % y;
                    }
                };
            } catch (ArithmeticException e) {
                throw new EvaluationException("bigint out of range: " + x + " " + op + " " + y);
            }
        }
        BigDecimal x = numeric(a, String.valueOf(op));
        BigDecimal y = numeric(b, String.valueOf(op));
        return switch (op) {
            case '+' -> x.add(y);
            case '-' -> x.subtract(y);
            case '*' -> x.multiply(y);
            case '/' -> {
                if (y.signum() == 0) {
                    throw new EvaluationException("division by zero");
                }
                yield x.divide(y, MathContext.DECIMAL128).stripTrailingZeros();
            }
            default -> {
                if (y.signum() == 0) {
                    throw new EvaluationException("division by zero");
                }
                yield x.remainder(y);
            }
        };
    }

    private static Object roundOrTrunc(boolean round, Object v, Object places, boolean hasPlaces) {
        if (v == null || (hasPlaces && places == null)) {
            return null;
        }
        int scale = hasPlaces ? numeric(places, round ? "round" : "trunc").intValueExact() : 0;
        BigDecimal n = numeric(v, round ? "round" : "trunc");
        BigDecimal r = n.setScale(scale, round ? RoundingMode.HALF_UP : RoundingMode.DOWN);
        // PostgreSQL: round(x, -1) keeps scale 0
        return scale < 0 ? r.setScale(0, RoundingMode.UNNECESSARY) : r;
    }

    private static Object text(Object v, java.util.function.UnaryOperator<String> f) {
        return v == null ? null : f.apply(toText(v));
    }

    private static String strip(String s, boolean leading, boolean trailing) {
        int start = 0;
        int end = s.length();
        while (leading && start < end && s.charAt(start) == ' ') {
            start++;
        }
        while (trailing && end > start && s.charAt(end - 1) == ' ') {
            end--;
        }
        return s.substring(start, end);
    }

    private static Object substr(Object s, Object start, Object count, boolean hasCount) {
        if (s == null || start == null || (hasCount && count == null)) {
            return null;
        }
        int[] cps = toText(s).codePoints().toArray();
        long from = numeric(start, "substr").longValue();
        long to = cps.length + 1L;
        if (hasCount) {
            long n = numeric(count, "substr").longValue();
            if (n < 0) {
                throw new EvaluationException("negative substring length not allowed");
            }
            to = Math.min(to, from + n);
        }
        long first = Math.max(from, 1);
        if (to <= first) {
            return "";
        }
        return new String(cps, (int) first - 1, (int) (Math.min(to, cps.length + 1L) - first));
    }

    private static Object leftRight(boolean left, Object s, Object count) {
        if (s == null || count == null) {
            return null;
        }
        int[] cps = toText(s).codePoints().toArray();
        long n = numeric(count, left ? "left" : "right").longValue();
        int keep = (int) (n >= 0 ? Math.min(n, cps.length) : Math.max(0, cps.length + n));
        return left ? new String(cps, 0, keep) : new String(cps, cps.length - keep, keep);
    }

    private static Object splitPart(Object s, Object delimiter, Object field) {
        if (s == null || delimiter == null || field == null) {
            return null;
        }
        String text = toText(s);
        String d = toText(delimiter);
        long n = numeric(field, "split_part").longValue();
        if (n == 0) {
            throw new EvaluationException("field position must not be zero");
        }
        List<String> parts = new ArrayList<>();
        if (d.isEmpty()) {
            parts.add(text);
        } else {
            int at = 0;
            int next;
            while ((next = text.indexOf(d, at)) >= 0) {
                parts.add(text.substring(at, next));
                at = next + d.length();
            }
            parts.add(text.substring(at));
        }
        if (text.isEmpty()) {
            return "";
        }
        long index = n > 0 ? n - 1 : parts.size() + n;
        return index >= 0 && index < parts.size() ? parts.get((int) index) : "";
    }

    private static Object pad(boolean left, Object s, Object length, Object fill) {
        if (s == null || length == null || fill == null) {
            return null;
        }
        int[] cps = toText(s).codePoints().toArray();
        int target = Math.max(0, numeric(length, left ? "lpad" : "rpad").intValue());
        if (cps.length >= target) {
            return new String(cps, 0, target);
        }
        int[] f = toText(fill).codePoints().toArray();
        if (f.length == 0) {
            return toText(s);
        }
        StringBuilder padding = new StringBuilder();
        for (int i = 0; i < target - cps.length; i++) {
            padding.appendCodePoint(f[i % f.length]);
        }
        return left ? padding + toText(s) : toText(s) + padding;
    }

    private static String md5(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ----- dates and times (ISO-8601 text; timestamptz in UTC, as changes carry them) -----

    private static final DateTimeFormatter LENIENT = new DateTimeFormatterBuilder()
            .parseCaseInsensitive()
            .append(DateTimeFormatter.ISO_LOCAL_DATE)
            .optionalStart().appendLiteral('T').optionalEnd()
            .optionalStart().appendLiteral(' ').optionalEnd()
            .optionalStart().append(DateTimeFormatter.ISO_LOCAL_TIME).optionalEnd()
            .optionalStart().appendOffset("+HH:MM:ss", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHmm", "Z").optionalEnd()
            .optionalStart().appendOffset("+HH", "Z").optionalEnd()
            .toFormatter(Locale.ROOT);

    /** A parsed date/time value: a date, a local timestamp, or an instant (offset given). */
    private record Moment(LocalDateTime local, boolean hasTime, boolean zoned) {
    }

    private static Moment moment(Object v, String what) {
        String s = toText(v).trim();
        try {
            var parsed = LENIENT.parseBest(s, OffsetDateTime::from, LocalDateTime::from, LocalDate::from);
            if (parsed instanceof OffsetDateTime odt) {
                return new Moment(odt.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime(), true, true);
            }
            if (parsed instanceof LocalDateTime ldt) {
                return new Moment(ldt, true, false);
            }
            return new Moment(((LocalDate) parsed).atStartOfDay(), false, false);
        } catch (DateTimeParseException e) {
            throw new EvaluationException(what + ": '" + s + "' is not a date or timestamp");
        }
    }

    private static String format(Moment m, LocalDateTime value) {
        if (!m.hasTime()) {
            return value.toLocalDate().toString();
        }
        String local = value.format(DateTimeFormatter.ISO_LOCAL_DATE_TIME);
        return m.zoned() ? local + "Z" : local;
    }

    private static Object dateTrunc(String unit, Object v) {
        if (v == null) {
            return null;
        }
        Moment m = moment(v, "date_trunc");
        LocalDateTime t = m.local();
        LocalDateTime out = switch (unit) {
            case "year" -> t.toLocalDate().withDayOfYear(1).atStartOfDay();
            case "quarter" -> t.toLocalDate().withDayOfMonth(1).withMonth(((t.getMonthValue() - 1) / 3) * 3 + 1).atStartOfDay();
            case "month" -> t.toLocalDate().withDayOfMonth(1).atStartOfDay();
            case "week" -> t.toLocalDate().minusDays(t.getDayOfWeek().getValue() - 1L).atStartOfDay();
            case "day" -> t.truncatedTo(ChronoUnit.DAYS);
            case "hour" -> t.truncatedTo(ChronoUnit.HOURS);
            case "minute" -> t.truncatedTo(ChronoUnit.MINUTES);
            default -> t.truncatedTo(ChronoUnit.SECONDS);
        };
        // date_trunc of a date gives a timestamptz in PostgreSQL (the date read at midnight UTC)
        return format(new Moment(out, true, m.zoned() || !m.hasTime()), out);
    }

    private static Object datePart(String field, Object v) {
        if (v == null) {
            return null;
        }
        LocalDateTime t = moment(v, field).local();
        return switch (field) {
            case "year" -> BigDecimal.valueOf(t.getYear());
            case "quarter" -> BigDecimal.valueOf((t.getMonthValue() - 1) / 3 + 1);
            case "month" -> BigDecimal.valueOf(t.getMonthValue());
            case "day" -> BigDecimal.valueOf(t.getDayOfMonth());
            case "hour" -> BigDecimal.valueOf(t.getHour());
            case "minute" -> BigDecimal.valueOf(t.getMinute());
            case "second" -> BigDecimal.valueOf(t.getSecond()).add(BigDecimal.valueOf(t.getNano(), 9)).setScale(6, RoundingMode.DOWN);
            case "dow" -> BigDecimal.valueOf(t.getDayOfWeek().getValue() % 7);
            case "isodow" -> BigDecimal.valueOf(t.getDayOfWeek().getValue());
            case "doy" -> BigDecimal.valueOf(t.getDayOfYear());
            case "week" -> BigDecimal.valueOf(t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
            default -> BigDecimal.valueOf(t.toEpochSecond(ZoneOffset.UTC)).add(BigDecimal.valueOf(t.get(ChronoField.MICRO_OF_SECOND), 6))
                    .setScale(6, RoundingMode.DOWN);
        };
    }

    // ----- casts -----

    /** A conversion to a SQL type, PostgreSQL's way; a value that does not convert is an {@link EvaluationException}. */
    public static final class Cast {
        private final String type;
        private final java.util.function.UnaryOperator<Object> convert;

        private Cast(String type, java.util.function.UnaryOperator<Object> convert) {
            this.type = type;
            this.convert = convert;
        }

        /**
         * @param type     a type name as in SQL ({@code bigint}, {@code numeric(12,2)}, {@code timestamptz})
         * @throws IllegalArgumentException for a type that is not supported
         */
        public static Cast parse(String type) {
            String t = type.trim().toLowerCase(Locale.ROOT);
            List<String> args = new ArrayList<>();
            int open = t.indexOf('(');
            if (open > 0 && t.endsWith(")")) {
                for (String a : t.substring(open + 1, t.length() - 1).split(",")) {
                    args.add(a.trim());
                }
                t = t.substring(0, open).trim();
            }
            return of(t, args, type, Use.CAST);
        }

        static Cast of(String dataType, List<String> arguments, String text, Use use) {
            String t = dataType.trim().toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
            List<String> args = arguments == null ? new ArrayList<>() : new ArrayList<>(arguments);
            int open = t.indexOf('(');
            if (open > 0 && t.endsWith(")")) {
                // JSqlParser may keep the arguments in the type's name: "numeric (10, 1)"
                for (String a : t.substring(open + 1, t.length() - 1).split(",")) {
                    args.add(a.trim());
                }
                t = t.substring(0, open).trim();
            }
            String shown = t + (args.isEmpty() ? "" : "(" + String.join(",", args) + ")");
            return switch (t) {
                case "text", "varchar", "character varying", "char", "character", "bpchar" -> {
                    Integer max = args.isEmpty() ? null : Integer.valueOf(args.get(0));
                    // an explicit cast to varchar(n) cuts the text to n characters, as in PostgreSQL
                    yield new Cast(shown, v -> {
                        String s = toText(v);
                        return max != null && s.codePointCount(0, s.length()) > max ? new String(s.codePoints().limit(max).toArray(), 0, max) : s;
                    });
                }
                case "smallint", "int2" -> new Cast(shown, v -> integer(v, shown, Short.MIN_VALUE, Short.MAX_VALUE));
                case "integer", "int", "int4" -> new Cast(shown, v -> integer(v, shown, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case "bigint", "int8" -> new Cast(shown, v -> integer(v, shown, Long.MIN_VALUE, Long.MAX_VALUE));
                case "numeric", "decimal" -> {
                    Integer precision = args.isEmpty() ? null : Integer.valueOf(args.get(0));
                    int scale = args.size() > 1 ? Integer.parseInt(args.get(1)) : 0;
                    yield new Cast(shown, v -> {
                        BigDecimal n = v instanceof Boolean ? null : number(v);
                        if (n == null) {
                            throw new EvaluationException("invalid input syntax for type numeric: '" + toText(v) + "'");
                        }
                        if (precision == null) {
                            return n;
                        }
                        BigDecimal r = n.setScale(scale, RoundingMode.HALF_UP);
                        if (r.precision() - r.scale() > precision - scale && r.signum() != 0) {
                            throw new EvaluationException("numeric field overflow: " + toText(v) + " does not fit " + shown);
                        }
                        return r;
                    });
                }
                case "boolean", "bool" -> new Cast(shown, v -> {
                    Boolean b = v instanceof Long l ? (Boolean) (l != 0) : bool(v);
                    if (b == null) {
                        throw new EvaluationException("invalid input syntax for type boolean: '" + toText(v) + "'");
                    }
                    return b;
                });
                case "date" -> new Cast(shown, v -> moment(v, "cast to date").local().toLocalDate().toString());
                case "timestamp", "timestamp without time zone" -> new Cast(shown, v -> {
                    LocalDateTime t0 = moment(v, "cast to timestamp").local();
                    return t0.format(DateTimeFormatter.ISO_LOCAL_DATE_TIME);
                });
                case "timestamptz", "timestamp with time zone" -> new Cast(shown, v -> {
                    Moment m = moment(v, "cast to timestamptz");
                    // a timestamp without zone is read as UTC (Strangler's sessions run in UTC)
                    return m.local().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME) + "Z";
                });
                default -> throw new IllegalArgumentException("'" + text + "': type " + shown + " is not supported in " + use.words
                        + " (supported: text, varchar(n), smallint, integer, bigint, numeric(p,s), boolean, date, timestamp, timestamptz)");
            };
        }

        /** The converted value (null stays null). */
        public Object apply(Object value) {
            return value == null ? null : convert.apply(value);
        }

        public String type() {
            return type;
        }

        private static Object integer(Object v, String type, long min, long max) {
            BigDecimal n;
            if (v instanceof Long l) {
                n = BigDecimal.valueOf(l);
            } else if (v instanceof BigDecimal d) {
                n = d.setScale(0, RoundingMode.HALF_UP);
            } else if (v instanceof Boolean) {
                throw new EvaluationException("cannot cast type boolean to " + type);
            } else {
                String s = toText(v).trim();
                if (s.matches("[+-]?\\d+")) {
                    n = new BigDecimal(new BigInteger(s));
                } else if (s.matches("[+-]?\\d*\\.\\d+|[+-]?\\d+\\.\\d*")) {
                    // a numeric column travels as text: a decimal number converts as PostgreSQL converts numeric
                    n = new BigDecimal(s).setScale(0, RoundingMode.HALF_UP);
                } else {
                    throw new EvaluationException("invalid input syntax for type " + type + ": '" + toText(v) + "'");
                }
            }
            if (n.compareTo(BigDecimal.valueOf(min)) < 0 || n.compareTo(BigDecimal.valueOf(max)) > 0) {
                throw new EvaluationException(type + " out of range: " + toText(v));
            }
            return n.longValueExact();
        }
    }

    // ----- three-valued logic -----

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
}
