package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RowTransformTest {

    private static ObjectNode row(String json) throws Exception {
        return (ObjectNode) Json.mapper().readTree(json);
    }

    @Test
    void aDerivedColumnsTypeComesFromItsOuterCastOrIsText() {
        RowTransform t = new RowTransform(Map.of(
                "cents", ColumnExpression.value("CAST(round(total * 100) AS bigint)"),
                "price", ColumnExpression.value("cast(total as numeric(12, 2))"),
                "day", ColumnExpression.value("date_trunc('day', at)::date"),
                "name", ColumnExpression.value("first || ' ' || last"),
                "inner", ColumnExpression.value("CAST(a AS text) || b")), Map.of(), Map.of(), List.of(), RowTransform.OnViolation.DEAD_LETTER);
        assertThat(t.derivedType("cents")).isEqualTo("bigint");
        assertThat(t.derivedType("price")).isEqualTo("numeric(12, 2)");
        assertThat(t.derivedType("day")).isEqualTo("date");
        assertThat(t.derivedType("name")).isEqualTo("text");
        assertThat(t.derivedType("inner")).as("a cast inside is not the column's type").isEqualTo("text");
    }

    @Test
    void rulesFollowCheckSemanticsAndCastsAndMasksLeaveTheInputAlone() throws Exception {
        RowTransform t = new RowTransform(Map.of(), Map.of("age", "integer"), Map.of("email", Mask.parse("redact")),
                List.of(ColumnExpression.condition("age >= 0")), RowTransform.OnViolation.DROP);
        assertThat(t.brokenRule(row("{\"age\": -1}"))).contains("age >= 0");
        assertThat(t.brokenRule(row("{\"age\": null}"))).as("unknown holds, as in a CHECK").isEmpty();
        ObjectNode input = row("{\"age\": \"42\", \"email\": \"a@b.c\"}");
        ObjectNode out = t.castAndMask(input, null);
        assertThat(out.toString()).isEqualTo("{\"age\":42,\"email\":\"***\"}");
        assertThat(input.toString()).isEqualTo("{\"age\":\"42\",\"email\":\"a@b.c\"}");
        assertThatThrownBy(() -> t.castAndMask(row("{\"age\": \"old\"}"), null)).isInstanceOf(ColumnExpression.EvaluationException.class)
                .hasMessageContaining("cast of age to integer");
    }

    @Test
    void masksHideValuesStablyAndPartialKeepsTheEnd() {
        byte[] key = "a-key-of-sixteen-chars".getBytes();
        var email = Json.mapper().getNodeFactory().textNode("ada@example.com");
        assertThat(Mask.parse("hash").apply(email, key)).isEqualTo(Mask.parse("hash").apply(email, key));
        assertThat(Mask.parse("hash").apply(email, key).asText()).hasSize(64).doesNotContain("ada");
        assertThat(Mask.parse("hash").apply(email, "another-key-of-16-chars".getBytes())).isNotEqualTo(Mask.parse("hash").apply(email, key));
        assertThat(Mask.parse("partial(keep-last=4)").apply(Json.mapper().getNodeFactory().textNode("4111111111111111"), null).asText())
                .isEqualTo("************1111");
        assertThat(Mask.parse("partial(keep-first=2)").apply(Json.mapper().getNodeFactory().textNode("secret"), null).asText()).isEqualTo("se****");
        assertThat(Mask.parse("fake(email)").apply(email, key).asText()).matches("[a-z]+\\.[a-z]+\\.[0-9a-f]{6}@example\\.com");
        assertThat(Mask.parse("fake(phone)").apply(email, key).asText()).matches("\\+1-555-01\\d{2}-\\d{2}");
        assertThat(Mask.parse("redact").apply(Json.mapper().getNodeFactory().nullNode(), null).isNull()).isTrue();
        assertThatThrownBy(() -> Mask.parse("scramble")).hasMessageContaining("is not a mask");
    }
}
