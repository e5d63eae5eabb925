package dev.strangler.core.config.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Spelling;
import dev.strangler.core.config.ConfigProblem;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One mapping of the config tree, read field by field. Every read records the key as known, so that
 * {@link #finish()} can report unknown keys; every bad value is recorded as a problem with its path,
 * and reading goes on so that all problems are found in one pass.
 */
public final class ConfigNode {

    private final JsonNode node;
    private final String path;
    private final List<ConfigProblem> problems;
    private final Set<String> known = new LinkedHashSet<>();

    public ConfigNode(JsonNode node, String path, List<ConfigProblem> problems) {
        this.node = node;
        this.path = path;
        this.problems = problems;
    }

    public String path() {
        return path;
    }

    /** The shared list every node of one load records its problems in. */
    public List<ConfigProblem> problems() {
        return problems;
    }

    public String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public void problem(String key, String message) {
        problems.add(new ConfigProblem(key == null ? path : pathOf(key), message));
    }

    public boolean has(String key) {
        known.add(key);
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** True when the key is present, even with an explicit null. */
    public boolean present(String key) {
        known.add(key);
        return node.has(key);
    }

    public JsonNode raw(String key) {
        known.add(key);
        return node.get(key);
    }

    public String string(String key, String defaultValue) {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isValueNode() || v.isBinary()) {
            problem(key, "must be a text value, not " + kind(v));
            return defaultValue;
        }
        return v.asText();
    }

    public String requiredString(String key, String example) {
        String value = string(key, null);
        if (value == null || value.isBlank()) {
            if (!node.has(key) || node.get(key).isNull()) {
                problem(key, "is required (e.g. " + key + ": " + example + ")");
            } else if (node.get(key).isValueNode()) {
                problem(key, "must not be empty (e.g. " + key + ": " + example + ")");
            }
            return null;
        }
        return value;
    }

    public int integer(String key, int defaultValue, int min, int max) {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.canConvertToInt() || !(v.isIntegralNumber() || v.isTextual() && v.asText().matches("-?\\d+"))) {
            problem(key, "must be a whole number between " + min + " and " + max + ", not '" + v.asText() + "'");
            return defaultValue;
        }
        int value = v.asInt();
        if (value < min || value > max) {
            problem(key, "must be between " + min + " and " + max + ", not " + value);
            return defaultValue;
        }
        return value;
    }

    public boolean bool(String key, boolean defaultValue) {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        String text = v.asText().toLowerCase(Locale.ROOT);
        if (text.equals("true") || text.equals("false")) {
            return Boolean.parseBoolean(text);
        }
        problem(key, "must be true or false, not '" + v.asText() + "'");
        return defaultValue;
    }

    /** A duration written as {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h} or ISO-8601 {@code PT10S}. */
    public Duration duration(String key, Duration defaultValue, Duration min) {
        String text = string(key, null);
        if (text == null) {
            return defaultValue;
        }
        Duration d = parseDuration(text.trim());
        if (d == null) {
            problem(key, "must be a duration such as 500ms, 10s, 5m or 1h, not '" + text + "'");
            return defaultValue;
        }
        if (d.compareTo(min) < 0) {
            problem(key, "must be at least " + min.toMillis() + "ms, not " + text);
            return defaultValue;
        }
        return d;
    }

    public <E extends Enum<E>> E choice(String key, E defaultValue, Function<E, String> configName, E[] values) {
        String text = string(key, null);
        if (text == null) {
            return defaultValue;
        }
        List<String> names = new ArrayList<>();
        for (E e : values) {
            if (configName.apply(e).equalsIgnoreCase(text.trim())) {
                return e;
            }
            names.add(configName.apply(e));
        }
        problem(key, "must be one of " + String.join(", ", names) + ", not '" + text + "'" + Spelling.didYouMean(text, names));
        return defaultValue;
    }

    /** A nested mapping; when absent, an empty one (so defaults apply); when not a mapping, a problem. */
    public ConfigNode object(String key) {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return new ConfigNode(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), pathOf(key), problems);
        }
        if (!v.isObject()) {
            problem(key, "must be a mapping of keys to values, not " + kind(v));
            return new ConfigNode(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), pathOf(key), problems);
        }
        return new ConfigNode(v, pathOf(key), problems);
    }

    /** Entries of a mapping whose keys are names chosen by the user (services, renames). */
    public Iterator<Map.Entry<String, JsonNode>> entries() {
        return node.fields();
    }

    public JsonNode node() {
        return node;
    }

    /** Reports every key that no read asked for, with the closest known key as a suggestion. */
    public void finish() {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!known.contains(name)) {
                problem(name, "unknown key" + Spelling.didYouMean(name, known)
                        + (known.isEmpty() ? "" : " (known keys here: " + String.join(", ", known) + ")"));
            }
        }
    }

    public static ConfigNode root(ObjectNode node, List<ConfigProblem> problems) {
        return new ConfigNode(node, "", problems);
    }

    static String kind(JsonNode v) {
        if (v.isObject()) {
            return "a mapping";
        }
        if (v.isArray()) {
            return "a list";
        }
        return "'" + v.asText() + "'";
    }

    static Duration parseDuration(String text) {
        return dev.strangler.core.Durations.parse(text).orElse(null);
    }
}
