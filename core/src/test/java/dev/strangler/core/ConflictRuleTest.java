package dev.strangler.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ConflictRuleTest {

    private static ConflictRule.Parsed parse(String json) {
        return ConflictRule.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsEveryDocumentedForm() {
        assertThat(parse("{\"strategy\": \"monolith-wins\"}").rule().strategy()).isEqualTo(ConflictRule.Strategy.MONOLITH_WINS);
        ConflictRule merge = parse("{\"strategy\": \"merge\", \"columns\": {\"status\": \"monolith\", \"note\": \"service\"}}").rule();
        assertThat(merge.columns()).containsExactlyInAnyOrderEntriesOf(Map.of("status", ConflictRule.Preference.MONOLITH, "note", ConflictRule.Preference.SERVICE));
        assertThat(parse("{\"strategy\": \"custom\", \"class\": \"com.example.Rule\"}").rule().className()).isEqualTo("com.example.Rule");
        assertThat(ConflictRule.parse(merge.toBytes()).rule()).isEqualTo(merge);
    }

    @Test
    void listsEveryProblemOfABadRecord() {
        assertThat(parse("{\"strategy\": \"newest\", \"columns\": {\"a\": \"both\"}, \"class\": \"x y\", \"extra\": 1}").problems())
                .containsExactlyInAnyOrder(
                        "strategy: 'newest' is not one of last-writer-wins, monolith-wins, service-wins, merge, custom",
                        "columns.a: must be monolith, service or last-writer, not \"both\"",
                        "class: must be a Java class name such as com.example.OrderConflicts, not \"x y\"",
                        "extra: is not a rule field (strategy, columns, class)");
        assertThat(parse("{\"strategy\": \"custom\"}").problems()).singleElement().asString().startsWith("class: is required with strategy custom");
        assertThat(parse("{\"strategy\": \"monolith-wins\", \"columns\": {\"a\": \"service\"}}").problems())
                .containsExactly("columns: only the merge strategy takes column preferences, not monolith-wins");
        assertThat(parse("not json").problems()).singleElement().asString().startsWith("is not JSON");
        assertThat(parse("[1]").problems()).singleElement().asString().startsWith("must be a JSON object");
    }
}
