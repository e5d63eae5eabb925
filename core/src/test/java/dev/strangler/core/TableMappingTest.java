package dev.strangler.core;

import dev.strangler.core.config.TableRoute;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class TableMappingTest {

    private final TableRoute route = new TableRoute("services.orders.tables[0]", TableId.parse("public.orders"), TableId.parse("sales.orders"),
            Map.of("order_note", "note"), Set.of("internal_flag"), Optional.of(RowFilter.compile("status <> 'draft'")));
    private final TableMapping mapping = new TableMapping(route);

    private static ChangeEvent event(String op, String before, String after) {
        String value = "{\"before\":" + before + ",\"after\":" + after + ",\"source\":{\"schema\":\"public\",\"table\":\"orders\","
                + "\"lsn\":100,\"ts_us\":1700000000000000,\"txId\":7},\"op\":\"" + op + "\"}";
        return DebeziumEnvelope.parse("{\"id\":1}".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)).orElseThrow();
    }

    @Test
    void renamesDropsAndKeepsTheRest() {
        ApplyRecord r = mapping.apply(event("c", "null", "{\"id\":1,\"status\":\"paid\",\"order_note\":\"hi\",\"internal_flag\":true}")).orElseThrow();
        assertThat(r.table()).isEqualTo(TableId.parse("sales.orders"));
        assertThat(r.action()).isEqualTo(ApplyRecord.Action.UPSERT);
        assertThat(r.row().toString()).isEqualTo("{\"id\":1,\"status\":\"paid\",\"note\":\"hi\"}");
        assertThat(r.version()).isEqualTo(100);
        assertThat(r.sourceCommitMicros()).isEqualTo(1700000000000000L);
        assertThat(r.transactionId()).isEqualTo("7");
    }

    @Test
    void rowsLeavingTheFilterAreDeletedAndNewRowsOutsideItSkipped() {
        assertThat(mapping.apply(event("c", "null", "{\"id\":1,\"status\":\"draft\"}"))).isEmpty();
        assertThat(mapping.apply(event("r", "null", "{\"id\":1,\"status\":\"draft\"}"))).isEmpty();
        ApplyRecord left = mapping.apply(event("u", "null", "{\"id\":1,\"status\":\"draft\"}")).orElseThrow();
        assertThat(left.action()).isEqualTo(ApplyRecord.Action.DELETE);
        assertThat(left.key().toString()).isEqualTo("{\"id\":1}");
    }

    @Test
    void deletesAreAlwaysCarried() {
        ApplyRecord r = mapping.apply(event("d", "{\"id\":1}", "null")).orElseThrow();
        assertThat(r.action()).isEqualTo(ApplyRecord.Action.DELETE);
        assertThat(r.row()).isNull();
    }

    @Test
    void unchangedToastValuesAreMarkedNotWritten() {
        ApplyRecord r = mapping.apply(event("u", "null", "{\"id\":1,\"status\":\"paid\",\"order_note\":\"" + TableMapping.UNAVAILABLE_PLACEHOLDER + "\"}")).orElseThrow();
        assertThat(r.unchanged()).containsExactly("note");
    }

    @Test
    void applyRecordsSurviveTheirWireFormat() {
        ApplyRecord r = mapping.apply(event("u", "null", "{\"id\":1,\"status\":\"paid\",\"order_note\":\"ünïcödé ✓\"}")).orElseThrow();
        ApplyRecord back = ApplyRecord.fromBytes(r.toBytes());
        assertThat(back).isEqualTo(r);
        assertThat(new String(r.kafkaKeyBytes(), StandardCharsets.UTF_8)).isEqualTo("sales.orders|{\"id\":1}");
        ApplyRecord composite = new ApplyRecord(TableId.parse("s.t"), ApplyRecord.Action.DELETE,
                Json.mapper().createObjectNode().put("a", "x\"y\\z ✓").put("b", 2).putNull("c"), null, Set.of(), 1, 1, null);
        assertThat(composite.kafkaKey()).isEqualTo("s.t|" + composite.key().toString());
    }
}
