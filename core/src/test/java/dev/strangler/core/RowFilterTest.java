package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RowFilterTest {

    private static ObjectNode row(String json) throws Exception {
        return (ObjectNode) Json.mapper().readTree(json);
    }

    @Test
    void comparesTextAndNumbersCarriedAsText() throws Exception {
        RowFilter filter = RowFilter.compile("status <> 'draft' and total >= 10.5");
        assertThat(filter.test(row("{\"status\":\"paid\",\"total\":\"10.50\"}"))).isTrue();
        assertThat(filter.test(row("{\"status\":\"paid\",\"total\":\"9.99\"}"))).isFalse();
        assertThat(filter.test(row("{\"status\":\"draft\",\"total\":100}"))).isFalse();
        assertThat(filter.columns()).containsExactlyInAnyOrder("status", "total");
    }

    @Test
    void nullIsUnknownAndUnknownDoesNotPass() throws Exception {
        RowFilter ne = RowFilter.compile("status <> 'draft'");
        assertThat(ne.test(row("{\"status\":null}"))).isFalse();
        assertThat(RowFilter.compile("status is null or status <> 'draft'").test(row("{\"status\":null}"))).isTrue();
        assertThat(RowFilter.compile("not (status = 'x')").test(row("{\"status\":null}"))).isFalse();
        assertThat(RowFilter.compile("country in ('DE', 'FR')").test(row("{\"country\":\"FR\"}"))).isTrue();
        assertThat(RowFilter.compile("country not in ('DE', 'FR')").test(row("{\"country\":\"GB\"}"))).isTrue();
        assertThat(RowFilter.compile("email like '%@example.com'").test(row("{\"email\":\"a@example.com\"}"))).isTrue();
        assertThat(RowFilter.compile("qty between 1 and 3").test(row("{\"qty\":3}"))).isTrue();
        assertThat(RowFilter.compile("qty * 2 + 1 > 6").test(row("{\"qty\":3}"))).isTrue();
        assertThat(RowFilter.compile("active = true").test(row("{\"active\":true}"))).isTrue();
        assertThat(RowFilter.compile("active = false").test(row("{\"active\":true}"))).isFalse();
    }

    @Test
    void refusesWhatItCannotEvaluate() {
        assertThatThrownBy(() -> RowFilter.compile("id in (select id from x)")).hasMessageContaining("is not supported");
        assertThatThrownBy(() -> RowFilter.compile("now() > at")).hasMessageContaining("not deterministic");
        assertThatThrownBy(() -> RowFilter.compile("soundex(name) = 'x'")).hasMessageContaining("function soundex() (supported: upper");
        assertThatThrownBy(() -> RowFilter.compile("status = ")).hasMessageContaining("is not a SQL condition");
    }
}
