package dev.strangler.router.internal;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ShadowComparisonTest {

    private final ShadowComparison comparison = new ShadowComparison(Set.of("updated_at", "request_id"));

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void jsonIsComparedAsATree() {
        assertThat(comparison.difference(200, b("{\"id\":7,\"items\":[1,2],\"total\":10.50}"),
                200, b("{ \"total\": 10.5, \"items\": [1, 2], \"id\": 7 }"))).isEmpty();
    }

    @Test
    void ignoredFieldsAreLeftOutAtAnyDepth() {
        assertThat(comparison.difference(200, b("{\"id\":7,\"updated_at\":\"a\",\"lines\":[{\"request_id\":1,\"q\":2}]}"),
                200, b("{\"id\":7,\"updated_at\":\"b\",\"lines\":[{\"request_id\":9,\"q\":2}]}"))).isEmpty();
    }

    @Test
    void aDifferenceNamesItsPathAndBothValues() {
        assertThat(comparison.difference(200, b("{\"id\":7,\"lines\":[{\"q\":2}]}"), 200, b("{\"id\":7,\"lines\":[{\"q\":3}]}")))
                .contains("$.lines[0].q: 2 vs 3");
        assertThat(comparison.difference(200, b("{\"id\":7}"), 200, b("{\"id\":7,\"extra\":true}")))
                .contains("$.extra: missing vs true");
        assertThat(comparison.difference(200, b("[1,2]"), 200, b("[1]"))).contains("$: 2 items vs 1");
    }

    @Test
    void statusComesFirst() {
        assertThat(comparison.difference(200, b("{}"), 404, b("{}"))).contains("status 200 vs 404");
    }

    @Test
    void nonJsonBodiesAreComparedByteForByte() {
        assertThat(comparison.difference(200, b("hello"), 200, b("hello"))).isEmpty();
        assertThat(comparison.difference(200, b("hello"), 200, b("hellO"))).get().asString().startsWith("body bytes differ");
    }
}
