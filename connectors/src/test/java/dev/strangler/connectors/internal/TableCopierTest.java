package dev.strangler.connectors.internal;

import dev.strangler.connectors.ColumnSchema;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class TableCopierTest {

    private static final TableId ITEMS = TableId.parse("public.items");
    private static final TableRoute ROUTE = new TableRoute("services.s.tables[0]", ITEMS, ITEMS, Map.of("note", "remark"), Set.of(), Optional.empty());

    @Test
    void tablesOfBuiltInScalarTypesAlikeOnBothSidesAreCopiedInBinary() {
        TableSchema source = table("bigint", "numeric(12,2)", "timestamp with time zone", "character varying(20)");
        assertThat(copyable(source, table("bigint", "numeric(12,2)", "timestamp with time zone", "character varying(20)"))).isTrue();
    }

    @Test
    void anyOtherTypeOrADifferenceBetweenTheSidesMeansText() {
        TableSchema source = table("bigint", "numeric(12,2)", "timestamp with time zone", "character varying(20)");
        // a wider service column: same text, different binary
        assertThat(copyable(source, table("bigint", "numeric", "timestamp with time zone", "character varying(20)"))).isFalse();
        assertThat(copyable(source, table("integer", "numeric(12,2)", "timestamp with time zone", "character varying(20)"))).isFalse();
        // an enum or an array carries type OIDs of its own database in binary
        assertThat(copyable(table("bigint", "numeric(12,2)", "mpaa_rating", "text"), table("bigint", "numeric(12,2)", "mpaa_rating", "text"))).isFalse();
        assertThat(copyable(table("bigint", "numeric(12,2)", "text[]", "text"), table("bigint", "numeric(12,2)", "text[]", "text"))).isFalse();
    }

    private static boolean copyable(TableSchema source, TableSchema target) {
        // the service names the monolith's note column remark, and has the version column
        List<ColumnSchema> columns = new ArrayList<>();
        for (ColumnSchema c : target.columns()) {
            columns.add(c.name().equals("note") ? new ColumnSchema("remark", c.type(), c.baseType(), c.nullable(), c.array()) : c);
        }
        columns.add(new ColumnSchema(TableRoute.VERSION_COLUMN, "bigint", "int8", true, false));
        TableSchema service = new TableSchema(ITEMS, columns, List.of("id"));
        return TableCopier.binaryCopyable(source.columnNames(), source, service, ROUTE);
    }

    private static TableSchema table(String idType, String amountType, String atType, String noteType) {
        return new TableSchema(ITEMS, List.of(new ColumnSchema("id", idType, idType, false, false),
                new ColumnSchema("amount", amountType, amountType, false, false),
                new ColumnSchema("at", atType, atType, false, atType.endsWith("[]")),
                new ColumnSchema("note", noteType, noteType, true, false)), List.of("id"));
    }
}
