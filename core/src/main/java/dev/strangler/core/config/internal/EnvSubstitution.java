package dev.strangler.core.config.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.strangler.core.config.ConfigProblem;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces {@code ${NAME}} and {@code ${NAME:-default}} in every text value of the parsed tree.
 * Substitution happens after YAML parsing, so a secret containing YAML syntax cannot change the
 * structure of the file. {@code $${X}} stands for a literal {@code ${X}}.
 */
public final class EnvSubstitution {

    private static final Pattern REFERENCE = Pattern.compile("\\$(\\$?)\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private final Function<String, String> environment;

    public EnvSubstitution(Function<String, String> environment) {
        this.environment = environment;
    }

    public void apply(JsonNode node, String path, List<ConfigProblem> problems) {
        if (node instanceof ObjectNode object) {
            Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                String childPath = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                if (field.getValue().isTextual()) {
                    field.setValue(new TextNode(substitute(field.getValue().asText(), childPath, problems)));
                } else {
                    apply(field.getValue(), childPath, problems);
                }
            }
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                String childPath = path + "[" + i + "]";
                if (array.get(i).isTextual()) {
                    array.set(i, new TextNode(substitute(array.get(i).asText(), childPath, problems)));
                } else {
                    apply(array.get(i), childPath, problems);
                }
            }
        }
    }

    String substitute(String text, String path, List<ConfigProblem> problems) {
        Matcher m = REFERENCE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement;
            if (!m.group(1).isEmpty()) {
                replacement = m.group().substring(1);
            } else {
                String value = environment.apply(m.group(2));
                if (value != null) {
                    replacement = value;
                } else if (m.group(3) != null) {
                    replacement = m.group(3);
                } else {
                    problems.add(new ConfigProblem(path, "environment variable " + m.group(2)
                            + " is not set (export it, or give a default: ${" + m.group(2) + ":-value})"));
                    replacement = "";
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }
}
