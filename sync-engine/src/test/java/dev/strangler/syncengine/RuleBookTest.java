package dev.strangler.syncengine;

import dev.strangler.core.ConflictRule;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class RuleBookTest {

    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private final RuleBook book = new RuleBook(metrics);
    private static final TableId ORDERS = TableId.parse("public.orders");

    private static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aTableRuleBeatsTheStarRuleWhichBeatsTheDefault() {
        assertThat(book.ruleFor(ORDERS)).isEqualTo(ConflictRule.DEFAULT);
        assertThat(book.accept("*", json("{\"strategy\": \"service-wins\"}"))).isEmpty();
        assertThat(book.ruleFor(ORDERS).strategy()).isEqualTo(ConflictRule.Strategy.SERVICE_WINS);
        assertThat(book.accept("public.orders", json("{\"strategy\": \"monolith-wins\"}"))).isEmpty();
        assertThat(book.ruleFor(ORDERS).strategy()).isEqualTo(ConflictRule.Strategy.MONOLITH_WINS);
        assertThat(book.ruleKeyFor(ORDERS)).isEqualTo("public.orders");
        assertThat(book.accept("public.orders", null)).isEmpty();
        assertThat(book.ruleFor(ORDERS).strategy()).isEqualTo(ConflictRule.Strategy.SERVICE_WINS);
    }

    @Test
    void anInvalidRecordTakesNoEffectIsCountedAndListedUntilAValidOneReplacesIt() {
        book.accept("public.orders", json("{\"strategy\": \"monolith-wins\"}"));
        assertThat(book.accept("public.orders", json("{\"strategy\": \"whoever\"}"))).isNotEmpty();
        assertThat(book.ruleFor(ORDERS).strategy()).isEqualTo(ConflictRule.Strategy.MONOLITH_WINS);
        assertThat(book.entries()).singleElement().satisfies(e -> {
            assertThat(e.rule().strategy()).isEqualTo(ConflictRule.Strategy.MONOLITH_WINS);
            assertThat(e.rejected()).contains("'whoever' is not one of");
        });
        assertThat(metrics.get(MetricNames.RULES_REJECTED).tag(MetricNames.TAG_TABLE, "public.orders").counter().count()).isEqualTo(1);
        assertThat(book.accept("public.orders", json("{\"strategy\": \"service-wins\"}"))).isEmpty();
        assertThat(book.entries().get(0).rejected()).isNull();
        assertThat(book.accept("not a table", json("{\"strategy\": \"service-wins\"}"))).singleElement().asString().contains("is not schema.table or *");
    }

    @Test
    void aCustomRuleWhoseClassCannotBeLoadedIsRejected() {
        assertThat(book.accept("public.orders", json("{\"strategy\": \"custom\", \"class\": \"com.example.Missing\"}")))
                .singleElement().asString().contains("com.example.Missing cannot be loaded");
        assertThat(book.accept("public.orders", json("{\"strategy\": \"custom\", \"class\": \"java.lang.String\"}")))
                .singleElement().asString().contains("cannot be loaded as a CustomConflictRule");
        assertThat(book.ruleFor(ORDERS)).isEqualTo(ConflictRule.DEFAULT);
    }
}
