package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.CustomConflictRule;

/** A custom conflict rule for tests: the row with the larger qty wins, and its note says so. */
public final class LargerQuantityWins implements CustomConflictRule {

    @Override
    public ObjectNode resolve(Conflict conflict) {
        ObjectNode m = conflict.monolith();
        ObjectNode s = conflict.service();
        ObjectNode winner = s != null && (m == null || s.path("qty").asInt() > m.path("qty").asInt()) ? s.deepCopy() : m.deepCopy();
        winner.put("note", "larger qty");
        return winner;
    }
}
