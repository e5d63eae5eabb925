package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.internal.SqlExpression;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a table's rows go through on their way to a service besides renames, drops and the row filter
 * (docs/transforms.md): row rules checked on the monolith row; casts and masks of monolith columns; derived
 * columns computed from the monolith row. A pure function of the row (and the mask key).
 */
public final class RowTransform {

    /** What happens to a row that breaks a rule. */
    public enum OnViolation {
        /** the change goes to the dead-letter topic with the rule it broke (the default) */
        DEAD_LETTER("dead-letter"),
        /** the change is not carried (counted) */
        DROP("drop"),
        /** the sync engine stops, naming the table, key and rule */
        STOP("stop");

        private final String configName;

        OnViolation(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /** A row that breaks a rule: the rule's text says which. */
    public static final class RuleViolation extends RuntimeException {
        private final String rule;

        RuleViolation(String rule) {
            super("the row breaks rule '" + rule + "'");
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    /**
     * A {@link CustomTransform} for the table.
     *
     * @param className a class implementing {@link CustomTransform}, with a public no-argument constructor
     * @param targets   service tables it may write besides the route's own
     * @param options   handed to {@link CustomTransform#configure}
     */
    public record Custom(String className, List<TableId> targets, Map<String, String> options) {
        public Custom {
            targets = List.copyOf(targets);
            options = Map.copyOf(options);
        }

        /** A new instance, configured. @throws IllegalStateException saying why the class cannot be used */
        public CustomTransform instantiate() {
            Object instance;
            try {
                ClassLoader loader = Thread.currentThread().getContextClassLoader() == null ? Custom.class.getClassLoader()
                        : Thread.currentThread().getContextClassLoader();
                instance = Class.forName(className, true, loader).getDeclaredConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("custom transform class " + className + " is not on the classpath: put its jar in lib/ "
                        + "(or STRANGLER_CLASSPATH for ./strangler)");
            } catch (ReflectiveOperationException | LinkageError e) {
                throw new IllegalStateException("custom transform class " + className + " cannot be created (it needs a public "
                        + "no-argument constructor): " + e);
            }
            if (!(instance instanceof CustomTransform transform)) {
                throw new IllegalStateException("custom transform class " + className + " does not implement " + CustomTransform.class.getName());
            }
            transform.configure(options);
            return transform;
        }
    }

    public static final RowTransform NONE = new RowTransform(Map.of(), Map.of(), Map.of(), List.of(), OnViolation.DEAD_LETTER);

    private final Map<String, ColumnExpression> derived;
    private final Map<String, String> castTypes;
    private final Map<String, SqlExpression.Cast> casts;
    private final Map<String, Mask> masks;
    private final List<ColumnExpression> rules;
    private final OnViolation onViolation;
    private final Optional<Custom> custom;

    public RowTransform(Map<String, ColumnExpression> derived, Map<String, String> casts, Map<String, Mask> masks,
                        List<ColumnExpression> rules, OnViolation onViolation) {
        this(derived, casts, masks, rules, onViolation, Optional.empty());
    }

    /**
     * @param derived target column → expression over the monolith row
     * @param casts   monolith column → SQL type it is converted to
     * @param masks   monolith column → mask
     * @param rules   conditions over the monolith row, each of which must hold (a NULL result holds, as in a CHECK)
     * @throws IllegalArgumentException for a cast to a type that is not supported
     */
    public RowTransform(Map<String, ColumnExpression> derived, Map<String, String> casts, Map<String, Mask> masks,
                        List<ColumnExpression> rules, OnViolation onViolation, Optional<Custom> custom) {
        this.custom = custom;
        this.derived = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(derived));
        this.castTypes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(casts));
        Map<String, SqlExpression.Cast> ops = new LinkedHashMap<>();
        casts.forEach((column, type) -> ops.put(column, SqlExpression.Cast.parse(type)));
        this.casts = ops;
        this.masks = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(masks));
        this.rules = List.copyOf(rules);
        this.onViolation = onViolation;
    }

    /** Checks a cast's type: @throws IllegalArgumentException naming the supported types. */
    public static void checkCastType(String type) {
        SqlExpression.Cast.parse(type);
    }

    public boolean isEmpty() {
        return derived.isEmpty() && casts.isEmpty() && masks.isEmpty() && rules.isEmpty() && custom.isEmpty();
    }

    public Optional<Custom> custom() {
        return custom;
    }

    public Map<String, ColumnExpression> derived() {
        return derived;
    }

    public Map<String, String> casts() {
        return castTypes;
    }

    public Map<String, Mask> masks() {
        return masks;
    }

    public List<ColumnExpression> rules() {
        return rules;
    }

    public OnViolation onViolation() {
        return onViolation;
    }

    private static final java.util.regex.Pattern OUTER_CAST = java.util.regex.Pattern.compile(
            "(?is)^\\s*cast\\s*\\(.*\\s+as\\s+([a-z][a-z0-9_ ]*(\\(\\s*\\d+(\\s*,\\s*\\d+)?\\s*\\))?)\\s*\\)\\s*$");
    private static final java.util.regex.Pattern TRAILING_CAST = java.util.regex.Pattern.compile(
            "(?is)^.*::\\s*([a-z][a-z0-9_]*(\\(\\s*\\d+(\\s*,\\s*\\d+)?\\s*\\))?)\\s*$");

    /**
     * The SQL type of a derived column when the writer creates the service table: the type of an outer
     * {@code CAST(... AS type)} or a trailing {@code ::type}, else {@code text}.
     */
    public String derivedType(String column) {
        ColumnExpression e = derived.get(column);
        if (e == null) {
            throw new IllegalArgumentException(column + " is not a derived column");
        }
        java.util.regex.Matcher m = OUTER_CAST.matcher(e.text());
        if (m.matches()) {
            return m.group(1).trim();
        }
        m = TRAILING_CAST.matcher(e.text());
        return m.matches() ? m.group(1).trim() : "text";
    }

    /** Whether a hash or fake mask needs the mask key. */
    public boolean needsMaskKey() {
        return masks.values().stream().anyMatch(Mask::needsKey);
    }

    /** Monolith columns the transform reads (rules, derived expressions, casts, masks). */
    public Set<String> sourceColumns() {
        Set<String> out = new LinkedHashSet<>();
        rules.forEach(r -> out.addAll(r.columns()));
        derived.values().forEach(d -> out.addAll(d.columns()));
        out.addAll(castTypes.keySet());
        out.addAll(masks.keySet());
        return out;
    }

    /** The first rule the monolith row breaks. @throws ColumnExpression.EvaluationException when a rule cannot be computed */
    public Optional<String> brokenRule(ObjectNode row) {
        for (ColumnExpression rule : rules) {
            // CHECK semantics: a rule that is unknown (NULL) holds; only a false one is broken
            JsonNode value = rule.evaluate(row);
            if (value.isBoolean() && !value.booleanValue()) {
                return Optional.of(rule.text());
            }
        }
        return Optional.empty();
    }

    /**
     * The monolith row with its casts and masks applied (a copy; the input is not changed).
     *
     * @throws ColumnExpression.EvaluationException when a value does not convert
     */
    public ObjectNode castAndMask(ObjectNode row, byte[] maskKey) {
        if (casts.isEmpty() && masks.isEmpty()) {
            return row;
        }
        ObjectNode out = row.deepCopy();
        casts.forEach((column, cast) -> {
            if (out.has(column)) {
                try {
                    out.set(column, SqlExpression.toJson(cast.apply(SqlExpression.fromJson(out.get(column)))));
                } catch (SqlExpression.EvaluationException e) {
                    throw new ColumnExpression.EvaluationException("cast of " + column + " to " + cast.type() + ": " + e.getMessage());
                }
            }
        });
        masks.forEach((column, mask) -> {
            if (out.has(column)) {
                out.set(column, mask.apply(out.get(column), maskKey));
            }
        });
        return out;
    }

    /** Adds the derived columns, computed from the monolith row, to the service row. */
    public void addDerived(ObjectNode monolithRow, ObjectNode serviceRow) {
        derived.forEach((column, expression) -> serviceRow.set(column, expression.evaluate(monolithRow)));
    }
}
