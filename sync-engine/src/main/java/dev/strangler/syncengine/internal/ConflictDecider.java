package dev.strangler.syncengine.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ConflictRule;
import dev.strangler.core.CustomConflictRule;
import dev.strangler.core.TableId;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Decides one conflict by a rule: a pure function of the rule and the two changes (monolith column
 * names; a null image is a delete). Both databases then get the row it returns.
 */
public final class ConflictDecider {

    /** Which change a decision took. */
    public enum Winner {
        MONOLITH("monolith"), SERVICE("service"), MERGED("merged");

        private final String label;

        Winner(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** One side's change: its row after the change (null: deleted) and its commit time. */
    public record Change(ObjectNode image, long commitMicros) {
    }

    /** The row both databases keep (null: the row is deleted in both), and whose it is. */
    public record Decision(ObjectNode row, Winner winner, String note) {
    }

    private ConflictDecider() {
    }

    /**
     * @param custom the loaded class of a {@link ConflictRule.Strategy#CUSTOM} rule (ignored otherwise)
     * @param agreed the row before either change, or null when unknown
     */
    public static Decision decide(ConflictRule rule, CustomConflictRule custom, TableId table, ObjectNode key,
                                  Change monolith, Change service, ObjectNode agreed) {
        return switch (rule.strategy()) {
            case MONOLITH_WINS -> new Decision(monolith.image(), Winner.MONOLITH, null);
            case SERVICE_WINS -> new Decision(service.image(), Winner.SERVICE, null);
            case LAST_WRITER_WINS -> lastWriter(monolith, service, null);
            case MERGE -> merge(rule, monolith, service, agreed);
            case CUSTOM -> custom(custom, table, key, monolith, service, agreed);
        };
    }

    /** The later commit wins; the same commit time: the monolith (a fixed, documented tie-break). */
    private static Decision lastWriter(Change monolith, Change service, String note) {
        return service.commitMicros() > monolith.commitMicros()
                ? new Decision(service.image(), Winner.SERVICE, note)
                : new Decision(monolith.image(), Winner.MONOLITH, note);
    }

    private static Decision merge(ConflictRule rule, Change monolith, Change service, ObjectNode agreed) {
        if (monolith.image() == null || service.image() == null) {
            return lastWriter(monolith, service, "a delete against an update: decided as last-writer-wins");
        }
        ObjectNode merged = JsonNodeFactory.instance.objectNode();
        Set<String> columns = new LinkedHashSet<>();
        monolith.image().fieldNames().forEachRemaining(columns::add);
        service.image().fieldNames().forEachRemaining(columns::add);
        boolean fromMonolith = false;
        boolean fromService = false;
        for (String column : columns) {
            JsonNode m = monolith.image().get(column);
            JsonNode s = service.image().get(column);
            JsonNode base = agreed == null ? null : agreed.get(column);
            boolean monolithChanged = agreed == null || !Objects.equals(m, base);
            boolean serviceChanged = agreed == null || !Objects.equals(s, base);
            JsonNode value;
            if (Objects.equals(m, s)) {
                value = m;
            } else if (m == null || !monolithChanged) {
                value = s;
                fromService = true;
            } else if (s == null || !serviceChanged) {
                value = m;
                fromMonolith = true;
            } else {
                ConflictRule.Preference preference = rule.columns().getOrDefault(column, ConflictRule.Preference.LAST_WRITER);
                boolean serviceTakes = switch (preference) {
                    case MONOLITH -> false;
                    case SERVICE -> true;
                    case LAST_WRITER -> service.commitMicros() > monolith.commitMicros();
                };
                value = serviceTakes ? s : m;
                fromService |= serviceTakes;
                fromMonolith |= !serviceTakes;
            }
            merged.set(column, value);
        }
        Winner winner = fromMonolith && fromService ? Winner.MERGED : fromService ? Winner.SERVICE : Winner.MONOLITH;
        return new Decision(merged, winner, null);
    }

    private static Decision custom(CustomConflictRule custom, TableId table, ObjectNode key, Change monolith, Change service,
                                   ObjectNode agreed) {
        if (custom == null) {
            return lastWriter(monolith, service, "the custom rule's class is not loaded: decided as last-writer-wins");
        }
        ObjectNode row;
        try {
            row = custom.resolve(new CustomConflictRule.Conflict(table, key.deepCopy(),
                    monolith.image() == null ? null : monolith.image().deepCopy(), monolith.commitMicros(),
                    service.image() == null ? null : service.image().deepCopy(), service.commitMicros(),
                    agreed == null ? null : agreed.deepCopy()));
        } catch (RuntimeException e) {
            return lastWriter(monolith, service, custom.getClass().getName() + " failed (" + e + "): decided as last-writer-wins");
        }
        if (row == null) {
            return new Decision(null, Winner.MERGED, null);
        }
        // columns the rule left out keep what the later change gave them; the key cannot change
        Change later = service.commitMicros() > monolith.commitMicros() ? service : monolith;
        ObjectNode full = later.image() == null ? JsonNodeFactory.instance.objectNode() : later.image().deepCopy();
        full.setAll(row);
        full.setAll(key);
        Winner winner = full.equals(monolith.image()) ? Winner.MONOLITH : full.equals(service.image()) ? Winner.SERVICE : Winner.MERGED;
        return new Decision(full, winner, null);
    }
}
