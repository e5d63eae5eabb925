package dev.strangler.connectors.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ApplyBatchTest {

    private static final TableId ORDERS = TableId.parse("public.orders");
    private static final TableId ITEMS = TableId.parse("public.order_items");

    private static ObjectNode json(String text) throws Exception {
        return (ObjectNode) Json.mapper().readTree(text);
    }

    private static ApplyRecord upsert(TableId table, String key, String row, long version, Set<String> unchanged) throws Exception {
        return new ApplyRecord(table, ApplyRecord.Action.UPSERT, json(key), json(row), unchanged, version, 0, null);
    }

    private static ApplyRecord delete(TableId table, String key, long version) throws Exception {
        return new ApplyRecord(table, ApplyRecord.Action.DELETE, json(key), null, Set.of(), version, 0, null);
    }

    @Test
    void groupsRowsByColumnsAndOrdersDeletesChildFirstThenUpsertsParentFirst() throws Exception {
        ApplyBatch batch = new ApplyBatch(Map.of(ORDERS, 0, ITEMS, 1));
        batch.add(upsert(ITEMS, "{\"id\":1}", "{\"id\":1,\"qty\":2}", 10, Set.of()), null);
        batch.add(upsert(ORDERS, "{\"id\":1}", "{\"id\":1,\"note\":\"a\"}", 11, Set.of()), null);
        batch.add(upsert(ORDERS, "{\"id\":2}", "{\"id\":2,\"note\":\"b\"}", 12, Set.of()), null);
        batch.add(upsert(ORDERS, "{\"id\":3}", "{\"id\":3,\"note\":\"__toast\"}", 13, Set.of("note")), null);
        batch.add(upsert(ORDERS, "{\"id\":4}", "{\"id\":4}", 14, Set.of()), null);
        batch.add(delete(ORDERS, "{\"id\":9}", 15), null);
        batch.add(delete(ITEMS, "{\"id\":9}", 16), null);
        // a key's changes collapse to the newest: id 2 ends deleted, id 1's older change does not win
        batch.add(delete(ORDERS, "{\"id\":2}", 17), null);
        batch.add(upsert(ORDERS, "{\"id\":1}", "{\"id\":1,\"note\":\"old\"}", 5, Set.of()), null);

        List<String> groups = batch.groups().stream()
                .map(g -> g.table().table() + " " + g.kind() + " " + g.columns() + " " + g.rows().stream()
                        .map(r -> r.record().key().get("id").asText() + "@" + r.record().version()).toList())
                .toList();
        assertThat(groups).containsExactly(
                "order_items DELETE [] [9@16]",
                "orders DELETE [] [2@17, 9@15]",
                "orders UPSERT [id, note] [1@11]",
                "orders UPDATE [id] [3@13]",
                "orders UPSERT [id] [4@14]",
                "order_items UPSERT [id, qty] [1@10]");
        assertThat(batch.size()).isEqualTo(9);
    }

    @Test
    void anUpdateThatLeftAToastValueAloneKeepsTheValueAnInsertInTheSameBatchBrought() throws Exception {
        ApplyBatch batch = new ApplyBatch(Map.of(ORDERS, 0));
        batch.add(upsert(ORDERS, "{\"id\":3}", "{\"id\":3,\"big\":\"a megabyte\",\"n\":1}", 20, Set.of()), null);
        batch.add(upsert(ORDERS, "{\"id\":3}", "{\"id\":3,\"big\":\"__debezium_unavailable_value\",\"n\":42}", 21, Set.of("big")), null);
        // a key only updated in the batch stays an update of the columns it sent
        batch.add(upsert(ORDERS, "{\"id\":4}", "{\"id\":4,\"big\":\"__debezium_unavailable_value\",\"n\":7}", 22, Set.of("big")), null);

        List<ApplyBatch.Group> groups = batch.groups();
        assertThat(groups).extracting(g -> g.kind() + " " + g.columns()).containsExactly("UPSERT [id, big, n]", "UPDATE [id, n]");
        ApplyRecord three = groups.get(0).rows().get(0).record();
        assertThat(three.row().toString()).isEqualTo("{\"id\":3,\"big\":\"a megabyte\",\"n\":42}");
        assertThat(three.version()).isEqualTo(21);
        assertThat(three.unchanged()).isEmpty();
    }
}
