package dev.strangler.connectors.internal;

import dev.strangler.connectors.ForeignKey;
import dev.strangler.core.TableId;
import org.junit.jupiter.api.Test;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ForeignKeyOrderTest {

    private static final TableId ORDERS = TableId.parse("public.orders");
    private static final TableId ITEMS = TableId.parse("public.order_items");
    private static final TableId CUSTOMERS = TableId.parse("public.customers");
    private static final TableId PRODUCTS = TableId.parse("public.products");
    private static final TableId AUDIT = TableId.parse("public.audit");

    private static ForeignKey fk(String name, TableId child, TableId parent, boolean deferrable) {
        return new ForeignKey(name, child, parent, deferrable);
    }

    private static List<TableId> ordered(ForeignKeyOrder order) {
        return order.positions().entrySet().stream().sorted(Map.Entry.comparingByValue(Comparator.naturalOrder()))
                .map(Map.Entry::getKey).toList();
    }

    @Test
    void parentsComeFirstWhateverTheConfigOrder() throws Exception {
        ForeignKeyOrder order = ForeignKeyOrder.of(List.of(ITEMS, AUDIT, ORDERS, PRODUCTS, CUSTOMERS), List.of(
                fk("items_order", ITEMS, ORDERS, false),
                fk("items_product", ITEMS, PRODUCTS, false),
                fk("orders_customer", ORDERS, CUSTOMERS, false)));
        List<TableId> tables = ordered(order);
        assertThat(tables).hasSize(5);
        assertThat(tables.indexOf(CUSTOMERS)).isLessThan(tables.indexOf(ORDERS));
        assertThat(tables.indexOf(ORDERS)).isLessThan(tables.indexOf(ITEMS));
        assertThat(tables.indexOf(PRODUCTS)).isLessThan(tables.indexOf(ITEMS));
        assertThat(tables).as("a table without keys keeps its config place among those ready").startsWith(AUDIT);
        assertThat(order.deferConstraints()).isFalse();
        assertThat(order.releasedBy(java.util.Set.of(CUSTOMERS))).as("a chain below, resolved in one pass")
                .containsExactlyInAnyOrder(CUSTOMERS, ORDERS, ITEMS);
        assertThat(order.releasedBy(java.util.Set.of(ITEMS))).as("a parent's delete waits for its children's")
                .containsExactlyInAnyOrder(ITEMS, ORDERS, PRODUCTS);
    }

    @Test
    void aSelfReferenceIsNotACycle() throws Exception {
        ForeignKeyOrder order = ForeignKeyOrder.of(List.of(CUSTOMERS), List.of(fk("referred_by", CUSTOMERS, CUSTOMERS, false)));
        assertThat(ordered(order)).containsExactly(CUSTOMERS);
        assertThat(order.deferConstraints()).isFalse();
    }

    @Test
    void aCycleOfDeferrableKeysIsCheckedAtCommit() throws Exception {
        ForeignKeyOrder order = ForeignKeyOrder.of(List.of(ORDERS, CUSTOMERS, ITEMS), List.of(
                fk("orders_customer", ORDERS, CUSTOMERS, true),
                fk("customers_last_order", CUSTOMERS, ORDERS, true),
                fk("items_order", ITEMS, ORDERS, false)));
        assertThat(order.deferConstraints()).isTrue();
        assertThat(ordered(order)).containsExactly(ORDERS, CUSTOMERS, ITEMS);
    }

    @Test
    void aCycleWithAnImmediateKeyIsRefusedNamingTheCycleAndTheWaysOut() {
        assertThatThrownBy(() -> ForeignKeyOrder.of(List.of(ORDERS, CUSTOMERS), List.of(
                fk("orders_customer", ORDERS, CUSTOMERS, true),
                fk("customers_last_order", CUSTOMERS, ORDERS, false))))
                .isInstanceOf(ForeignKeyOrder.CycleException.class)
                .hasMessageContaining("form a cycle")
                .hasMessageContaining("public.customers → public.orders (customers_last_order)")
                .hasMessageContaining("ALTER TABLE public.customers ALTER CONSTRAINT customers_last_order DEFERRABLE INITIALLY IMMEDIATE")
                .hasMessageContaining("drop one of them");
    }
}
