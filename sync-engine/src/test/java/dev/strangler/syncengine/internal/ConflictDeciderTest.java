package dev.strangler.syncengine.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ConflictRule;
import dev.strangler.core.CustomConflictRule;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ConflictDeciderTest {

    private static final TableId TABLE = TableId.parse("public.orders");
    private static final ObjectNode KEY = row("{\"id\": 1}");
    private static final ObjectNode AGREED = row("{\"id\": 1, \"status\": \"new\", \"note\": \"-\", \"qty\": 1}");
    private static final ConflictDecider.Change MONOLITH = new ConflictDecider.Change(row("{\"id\": 1, \"status\": \"paid\", \"note\": \"m\", \"qty\": 1}"), 1_000);
    private static final ConflictDecider.Change SERVICE = new ConflictDecider.Change(row("{\"id\": 1, \"status\": \"new\", \"note\": \"s\", \"qty\": 5}"), 2_000);

    private static ObjectNode row(String json) {
        try {
            return (ObjectNode) Json.mapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ConflictDecider.Decision decide(ConflictRule rule, ConflictDecider.Change m, ConflictDecider.Change s) {
        return ConflictDecider.decide(rule, null, TABLE, KEY, m, s, AGREED);
    }

    @Test
    void originPriorityTakesOneSideWhole() {
        assertThat(decide(new ConflictRule(ConflictRule.Strategy.MONOLITH_WINS, Map.of(), null), MONOLITH, SERVICE).row()).isEqualTo(MONOLITH.image());
        assertThat(decide(new ConflictRule(ConflictRule.Strategy.SERVICE_WINS, Map.of(), null), MONOLITH, SERVICE).row()).isEqualTo(SERVICE.image());
    }

    @Test
    void lastWriterWinsByCommitTimeAndTheMonolithWinsATie() {
        assertThat(decide(ConflictRule.DEFAULT, MONOLITH, SERVICE).winner()).isEqualTo(ConflictDecider.Winner.SERVICE);
        ConflictDecider.Change sameTime = new ConflictDecider.Change(SERVICE.image(), MONOLITH.commitMicros());
        assertThat(decide(ConflictRule.DEFAULT, MONOLITH, sameTime).winner()).isEqualTo(ConflictDecider.Winner.MONOLITH);
        // a delete is a change like any other
        ConflictDecider.Change deleted = new ConflictDecider.Change(null, 3_000);
        assertThat(decide(ConflictRule.DEFAULT, deleted, SERVICE).row()).isNull();
    }

    @Test
    void mergeTakesEachColumnFromTheSideThatChangedItAndAsksTheRuleWhenBothDid() {
        // status: only the monolith; qty: only the service; note: both (later commit, or the column's rule)
        ConflictDecider.Decision byTime = decide(new ConflictRule(ConflictRule.Strategy.MERGE, Map.of(), null), MONOLITH, SERVICE);
        assertThat(byTime.row()).isEqualTo(row("{\"id\": 1, \"status\": \"paid\", \"note\": \"s\", \"qty\": 5}"));
        assertThat(byTime.winner()).isEqualTo(ConflictDecider.Winner.MERGED);
        ConflictDecider.Decision byRule = decide(new ConflictRule(ConflictRule.Strategy.MERGE, Map.of("note", ConflictRule.Preference.MONOLITH), null),
                MONOLITH, SERVICE);
        assertThat(byRule.row()).isEqualTo(row("{\"id\": 1, \"status\": \"paid\", \"note\": \"m\", \"qty\": 5}"));
        // without a known agreed row every differing column counts as changed by both
        ConflictDecider.Decision unknownBase = ConflictDecider.decide(new ConflictRule(ConflictRule.Strategy.MERGE, Map.of(), null), null,
                TABLE, KEY, MONOLITH, SERVICE, null);
        assertThat(unknownBase.row()).isEqualTo(SERVICE.image());
        // a delete against an update is decided by commit time
        ConflictDecider.Decision delete = decide(new ConflictRule(ConflictRule.Strategy.MERGE, Map.of(), null),
                new ConflictDecider.Change(null, 5_000), SERVICE);
        assertThat(delete.row()).isNull();
        assertThat(delete.note()).contains("last-writer-wins");
    }

    @Test
    void aCustomRuleSeesBothRowsAndTheAgreedOneAndFailuresFallBackToLastWriterWins() {
        CustomConflictRule larger = c -> c.monolith().get("qty").asInt() > c.service().get("qty").asInt() ? c.monolith() : row("{\"qty\": 99}");
        ConflictDecider.Decision d = ConflictDecider.decide(new ConflictRule(ConflictRule.Strategy.CUSTOM, Map.of(), "x"), larger,
                TABLE, KEY, MONOLITH, SERVICE, AGREED);
        // columns the rule leaves out keep the later change's values
        assertThat(d.row()).isEqualTo(row("{\"id\": 1, \"status\": \"new\", \"note\": \"s\", \"qty\": 99}"));
        CustomConflictRule broken = c -> {
            throw new IllegalStateException("boom");
        };
        ConflictDecider.Decision fallback = ConflictDecider.decide(new ConflictRule(ConflictRule.Strategy.CUSTOM, Map.of(), "x"), broken,
                TABLE, KEY, MONOLITH, SERVICE, AGREED);
        assertThat(fallback.row()).isEqualTo(SERVICE.image());
        assertThat(fallback.note()).contains("boom", "last-writer-wins");
    }
}
