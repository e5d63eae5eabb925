package dev.strangler.router.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Compares the service's answer with the monolith's: the status, then the body. Two JSON bodies are
 * compared as trees (key order and whitespace do not matter; fields named in {@code ignoreFields}
 * are left out at any depth); other bodies byte for byte.
 */
public final class ShadowComparison {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Set<String> ignoreFields;

    public ShadowComparison(Set<String> ignoreFields) {
        this.ignoreFields = Set.copyOf(ignoreFields);
    }

    /** Where the answers first differ, or empty when they agree. */
    public Optional<String> difference(int monolithStatus, byte[] monolithBody, int serviceStatus, byte[] serviceBody) {
        if (monolithStatus != serviceStatus) {
            return Optional.of("status " + monolithStatus + " vs " + serviceStatus);
        }
        JsonNode m = tree(monolithBody);
        JsonNode s = tree(serviceBody);
        if (m != null && s != null) {
            return diff("$", m, s);
        }
        return Arrays.equals(monolithBody, serviceBody) ? Optional.empty()
                : Optional.of("body bytes differ (" + monolithBody.length + " vs " + serviceBody.length + " bytes, not both JSON)");
    }

    private static JsonNode tree(byte[] body) {
        if (body.length == 0) {
            return null;
        }
        byte first = body[0];
        if (first != '{' && first != '[') {
            return null;
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private Optional<String> diff(String path, JsonNode m, JsonNode s) {
        if (m.isObject() && s.isObject()) {
            Set<String> names = new TreeSet<>();
            m.fieldNames().forEachRemaining(names::add);
            s.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                if (ignoreFields.contains(name)) {
                    continue;
                }
                JsonNode mv = m.get(name);
                JsonNode sv = s.get(name);
                if (mv == null || sv == null) {
                    return Optional.of(path + "." + name + ": " + (mv == null ? "missing" : abbreviate(mv)) + " vs "
                            + (sv == null ? "missing" : abbreviate(sv)));
                }
                Optional<String> d = diff(path + "." + name, mv, sv);
                if (d.isPresent()) {
                    return d;
                }
            }
            return Optional.empty();
        }
        if (m.isArray() && s.isArray()) {
            if (m.size() != s.size()) {
                return Optional.of(path + ": " + m.size() + " items vs " + s.size());
            }
            Iterator<JsonNode> a = m.elements();
            Iterator<JsonNode> b = s.elements();
            for (int i = 0; a.hasNext(); i++) {
                Optional<String> d = diff(path + "[" + i + "]", a.next(), b.next());
                if (d.isPresent()) {
                    return d;
                }
            }
            return Optional.empty();
        }
        if (m.isNumber() && s.isNumber()) {
            return m.decimalValue().compareTo(s.decimalValue()) == 0 ? Optional.empty()
                    : Optional.of(path + ": " + m + " vs " + s);
        }
        return m.equals(s) ? Optional.empty() : Optional.of(path + ": " + abbreviate(m) + " vs " + abbreviate(s));
    }

    private static String abbreviate(JsonNode n) {
        String text = n.toString();
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }
}
