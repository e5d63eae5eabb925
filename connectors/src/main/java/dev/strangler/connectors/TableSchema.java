package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A table's columns in order and its primary key columns, as read from a database's catalog. */
public record TableSchema(TableId id, List<ColumnSchema> columns, List<String> primaryKey) {

    public TableSchema {
        columns = List.copyOf(columns);
        primaryKey = List.copyOf(primaryKey);
    }

    public Optional<ColumnSchema> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public Map<String, ColumnSchema> byName() {
        Map<String, ColumnSchema> map = new LinkedHashMap<>();
        columns.forEach(c -> map.put(c.name(), c));
        return map;
    }

    /** The same table, its rows identified by other columns (a configured {@code key:} of a table without a primary key). */
    public TableSchema withPrimaryKey(List<String> key) {
        return new TableSchema(id, columns, key);
    }

    public List<String> columnNames() {
        return columns.stream().map(ColumnSchema::name).toList();
    }
}
