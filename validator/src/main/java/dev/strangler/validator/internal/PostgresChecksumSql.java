package dev.strangler.validator.internal;

import dev.strangler.connectors.PostgresNames;
import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The validator's SQL for one side (monolith or service) of one table in PostgreSQL. A row is
 * rendered canonically as the text of each compared column, quoted so that NULL and '' differ
 * ({@code quote_nullable(col::text)}), joined by commas; its 64-bit hash is
 * {@code hashtextextended(text, 0)}; a segment's checksum is the count and the sum of the hashes (a
 * sum, not an XOR: equal pairs would cancel out). Ranges of keys are half-open: after the lower
 * bound, up to and including the upper one; the key's values are bound as text and cast to the key's
 * types.
 *
 * @param keys    key columns on this side, in key order
 * @param keyTypes the SQL type of each key column on this side
 * @param columns compared columns on this side, in the same order on both sides: a column name, or an SQL
 *                expression in parentheses (a transformed column computed on the monolith's side)
 * @param columnTypes the SQL type of each compared column on this side
 * @param filter  a condition rows must meet on this side (the route's filter on the monolith side)
 */
public record PostgresChecksumSql(TableId table, List<String> keys, List<String> keyTypes, List<String> columns, List<String> columnTypes,
                                  Optional<String> filter) implements ChecksumSql {

    public PostgresChecksumSql {
        keys = List.copyOf(keys);
        keyTypes = List.copyOf(keyTypes);
        columns = List.copyOf(columns);
        columnTypes = List.copyOf(columnTypes);
    }

    /**
     * A column as text for comparison. {@code timetz} is compared at UTC: capture carries it as the same
     * instant in UTC (Debezium's ZonedTime), not with the monolith's offset (docs/configuration.md).
     */
    private String columnText(int i) {
        // a plain column name is quoted; an expression (a transformed column, pushed down) is used as it is
        String column = columns.get(i).startsWith("(") ? columns.get(i) : PostgresNames.quote(columns.get(i));
        return columnTypes.get(i).startsWith("time") && columnTypes.get(i).endsWith("with time zone") && !columnTypes.get(i).startsWith("timestamp")
                ? "timezone('UTC', " + column + ")::text" : column + "::text";
    }

    private String keyTuple() {
        String joined = keys.stream().map(PostgresNames::quote).collect(Collectors.joining(", "));
        return keys.size() == 1 ? joined : "(" + joined + ")";
    }

    private String paramTuple() {
        String joined = keyTypes.stream().map(t -> "?::" + t).collect(Collectors.joining(", "));
        return keys.size() == 1 ? joined : "(" + joined + ")";
    }

    /** The key columns for ORDER BY, qualified: a bare name would mean the output column (the key as text). */
    private String orderBy() {
        return keys.stream().map(k -> "t." + PostgresNames.quote(k)).collect(Collectors.joining(", "));
    }

    private String rowText() {
        return java.util.stream.IntStream.range(0, columns.size()).mapToObj(i -> "quote_nullable(" + columnText(i) + ")")
                .collect(Collectors.joining(" || ',' || "));
    }

    /** The WHERE clause for a range; the caller binds the lower key (if any), then the upper key (if any). */
    @Override
    public String rangeCondition(boolean hasLower, boolean hasUpper) {
        StringBuilder where = new StringBuilder("true");
        if (hasLower) {
            where.append(" AND ").append(keyTuple()).append(" > ").append(paramTuple());
        }
        if (hasUpper) {
            where.append(" AND ").append(keyTuple()).append(" <= ").append(paramTuple());
        }
        filter.ifPresent(f -> where.append(" AND (").append(f).append(")"));
        return where.toString();
    }

    /** Count and hash sum (as text) of the rows in a range. */
    @Override
    public String checksum(boolean hasLower, boolean hasUpper) {
        return "SELECT count(*), coalesce(sum(hashtextextended(" + rowText() + ", 0)), 0)::text FROM " + PostgresNames.qualified(table)
                + " WHERE " + rangeCondition(hasLower, hasUpper);
    }

    /** Every {@code n}-th key of a range, in key order, as text: boundaries for segments of about n rows. */
    @Override
    public String boundaries(boolean hasLower, boolean hasUpper) {
        String keyText = keys.stream().map(k -> PostgresNames.quote(k) + "::text").collect(Collectors.joining(", "));
        String keyCols = keys.stream().map(PostgresNames::quote).collect(Collectors.joining(", "));
        return "SELECT " + keyText + " FROM (SELECT " + keyCols + ", row_number() OVER (ORDER BY " + orderBy() + ") AS strangler_rn FROM "
                + PostgresNames.qualified(table) + " t WHERE " + rangeCondition(hasLower, hasUpper) + ") s WHERE strangler_rn % ? = 0 ORDER BY strangler_rn";
    }

    /**
     * Keys of a random sample of the table's pages ({@code TABLESAMPLE SYSTEM}, a percentage bound as the
     * parameter), in key order: for cutting a large table into segments of about equal size without
     * reading all of it.
     */
    @Override
    public String sampledKeys(boolean hasLower) {
        String keyText = keys.stream().map(k -> "t." + PostgresNames.quote(k) + "::text").collect(Collectors.joining(", "));
        return "SELECT " + keyText + " FROM " + PostgresNames.qualified(table) + " t TABLESAMPLE SYSTEM (?) WHERE "
                + rangeCondition(hasLower, false) + " ORDER BY " + orderBy();
    }

    /** Key texts then each compared column's canonical text, for the rows of a range, in key order. */
    @Override
    public String rows(boolean hasLower, boolean hasUpper) {
        return "SELECT " + rowColumns() + " FROM " + PostgresNames.qualified(table) + " t WHERE " + rangeCondition(hasLower, hasUpper)
                + " ORDER BY " + orderBy();
    }

    /** As {@link #rows}, for listed keys: bind each key's values in turn. */
    @Override
    public String rowsForKeys(int count) {
        String tuples = java.util.stream.IntStream.range(0, count).mapToObj(i -> paramTuple()).collect(Collectors.joining(", "));
        StringBuilder where = new StringBuilder(keyTuple()).append(" IN (").append(tuples).append(")");
        filter.ifPresent(f -> where.append(" AND (").append(f).append(")"));
        return "SELECT " + rowColumns() + " FROM " + PostgresNames.qualified(table) + " WHERE " + where;
    }

    private String rowColumns() {
        String keyText = keys.stream().map(k -> PostgresNames.quote(k) + "::text").collect(Collectors.joining(", "));
        String values = java.util.stream.IntStream.range(0, columns.size()).mapToObj(i -> "quote_nullable(" + columnText(i) + ")")
                .collect(Collectors.joining(", "));
        return keyText + (columns.isEmpty() ? "" : ", " + values);
    }

    @Override
    public boolean samplesPages() {
        return true;
    }

    /** The planner's row estimate. */
    @Override
    public long estimate(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(?)")) {
            ps.setString(1, PostgresNames.qualified(table));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }
}
