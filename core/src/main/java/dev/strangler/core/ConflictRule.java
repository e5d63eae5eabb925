package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How the sync engine decides a conflict on one table: two origins (the monolith and the service of a
 * two-way table) changed the same row without seeing each other's change (docs/two-way.md). Rules live on the compacted
 * topic {@code <prefix>.rules}, keyed by the monolith table ({@code schema.table}) or {@code *} for every
 * table without its own rule; the value is this object as JSON (docs/two-way.md):
 *
 * <pre>
 * {"strategy": "last-writer-wins"}
 * {"strategy": "merge", "columns": {"status": "monolith", "note": "service"}}
 * {"strategy": "custom", "class": "com.example.OrderConflicts"}
 * </pre>
 *
 * @param columns for {@link Strategy#MERGE}: which origin wins a column both origins changed
 *                (columns not named: the later commit); column names as in the monolith
 * @param className for {@link Strategy#CUSTOM}: a {@link CustomConflictRule} with a public no-argument constructor
 */
public record ConflictRule(Strategy strategy, Map<String, Preference> columns, String className) {

    /** The rule in force where the topic says nothing. */
    public static final ConflictRule DEFAULT = new ConflictRule(Strategy.LAST_WRITER_WINS, Map.of(), null);

    private static final Pattern CLASS_NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");
    private static final Pattern COLUMN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    public ConflictRule {
        columns = Map.copyOf(columns);
    }

    /** How a conflict is decided. */
    public enum Strategy {
        /** the change committed later wins the whole row; the same commit time: the monolith's */
        LAST_WRITER_WINS("last-writer-wins"),
        /** the monolith's change wins (origin priority) */
        MONOLITH_WINS("monolith-wins"),
        /** the service's change wins (origin priority) */
        SERVICE_WINS("service-wins"),
        /**
         * per column: a column only one origin changed (against the last agreed row) takes that origin's
         * value; a column both changed takes the value of the origin {@code columns} names, else of the later
         * commit. A delete against an update is decided as last-writer-wins.
         */
        MERGE("merge"),
        /** a {@link CustomConflictRule} decides */
        CUSTOM("custom");

        private final String configName;

        Strategy(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        public static Strategy fromConfigName(String name) {
            for (Strategy s : values()) {
                if (s.configName.equals(name)) {
                    return s;
                }
            }
            return null;
        }

        static String allNames() {
            List<String> names = new ArrayList<>();
            for (Strategy s : values()) {
                names.add(s.configName);
            }
            return String.join(", ", names);
        }
    }

    /** Which origin a merged column takes when both changed it. */
    public enum Preference {
        MONOLITH("monolith"), SERVICE("service"), LAST_WRITER("last-writer");

        private final String configName;

        Preference(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        static Preference fromConfigName(String name) {
            for (Preference p : values()) {
                if (p.configName.equals(name)) {
                    return p;
                }
            }
            return null;
        }
    }

    /** A rule read from a record, or every reason it was rejected. */
    public record Parsed(ConflictRule rule, List<String> problems) {
        public boolean valid() {
            return problems.isEmpty();
        }
    }

    /** Reads a rule from the JSON of a rules-topic record, listing every problem. */
    public static Parsed parse(byte[] json) {
        JsonNode node;
        try {
            node = Json.mapper().readTree(json);
        } catch (IOException e) {
            return new Parsed(null, List.of("is not JSON: " + Strings.firstLine(e.getMessage())));
        }
        if (node == null || !node.isObject()) {
            return new Parsed(null, List.of("must be a JSON object such as {\"strategy\": \"monolith-wins\"}"));
        }
        List<String> problems = new ArrayList<>();
        Strategy strategy = null;
        JsonNode strategyNode = node.get("strategy");
        if (strategyNode == null || !strategyNode.isTextual()) {
            problems.add("strategy: is required, one of " + Strategy.allNames());
        } else {
            strategy = Strategy.fromConfigName(strategyNode.textValue());
            if (strategy == null) {
                problems.add("strategy: '" + strategyNode.textValue() + "' is not one of " + Strategy.allNames());
            }
        }
        Map<String, Preference> columns = new LinkedHashMap<>();
        JsonNode columnsNode = node.get("columns");
        if (columnsNode != null && !columnsNode.isNull()) {
            if (strategy != null && strategy != Strategy.MERGE) {
                problems.add("columns: only the merge strategy takes column preferences, not " + strategy.configName());
            }
            if (!columnsNode.isObject()) {
                problems.add("columns: must map column names to monolith, service or last-writer");
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = columnsNode.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    Preference p = e.getValue().isTextual() ? Preference.fromConfigName(e.getValue().textValue()) : null;
                    if (!COLUMN.matcher(e.getKey()).matches()) {
                        problems.add("columns." + e.getKey() + ": is not a column name");
                    } else if (p == null) {
                        problems.add("columns." + e.getKey() + ": must be monolith, service or last-writer, not " + e.getValue());
                    } else {
                        columns.put(e.getKey(), p);
                    }
                }
            }
        }
        String className = null;
        JsonNode classNode = node.get("class");
        if (classNode != null && !classNode.isNull()) {
            if (!classNode.isTextual() || !CLASS_NAME.matcher(classNode.textValue()).matches()) {
                problems.add("class: must be a Java class name such as com.example.OrderConflicts, not " + classNode);
            } else if (strategy != null && strategy != Strategy.CUSTOM) {
                problems.add("class: only the custom strategy takes a class, not " + strategy.configName());
            } else {
                className = classNode.textValue();
            }
        } else if (strategy == Strategy.CUSTOM) {
            problems.add("class: is required with strategy custom: the name of a class implementing " + CustomConflictRule.class.getName());
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!List.of("strategy", "columns", "class").contains(name)) {
                problems.add(name + ": is not a rule field (strategy, columns, class)");
            }
        }
        if (!problems.isEmpty()) {
            return new Parsed(null, List.copyOf(problems));
        }
        return new Parsed(new ConflictRule(strategy, columns, className), List.of());
    }

    public byte[] toBytes() {
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("strategy", strategy.configName());
        if (!columns.isEmpty()) {
            ObjectNode c = node.putObject("columns");
            columns.forEach((column, p) -> c.put(column, p.configName()));
        }
        if (className != null) {
            node.put("class", className);
        }
        try {
            return Json.mapper().writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The rule as one line, as {@code strangler rules list} shows it. */
    public String describe() {
        StringBuilder out = new StringBuilder(strategy.configName());
        if (!columns.isEmpty()) {
            out.append(' ').append(columns.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue().configName()).toList());
        }
        if (className != null) {
            out.append(' ').append(className);
        }
        return out.toString();
    }
}
