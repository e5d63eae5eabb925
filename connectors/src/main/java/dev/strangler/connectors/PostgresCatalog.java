package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** Reads table definitions from PostgreSQL's catalog (pg_catalog, not JDBC metadata: it keeps exact types). */
public final class PostgresCatalog implements ServiceCatalog {

    private final Connection connection;

    public PostgresCatalog(Connection connection) {
        this.connection = connection;
    }

    /**
     * A table's columns and primary key. Types are the ones a service database can create without the
     * monolith's own type definitions — the one place where PostgreSQL types are mapped: an enum is
     * {@code text} (its labels travel unchanged), a domain is its base type (the monolith keeps enforcing
     * the domain's checks), arrays of either likewise; every other type is kept as declared. Empty when
     * there is no such table (views are not tables).
     */
    @Override
    public Optional<TableSchema> table(TableId id) throws SQLException {
        List<ColumnSchema> columns = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT a.attname,
                       CASE WHEN t.typtype = 'e' THEN 'text'
                            WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
                            WHEN et.typtype = 'e' THEN 'text[]'
                            WHEN et.typtype = 'd' THEN format_type(et.typbasetype, et.typtypmod) || '[]'
                            ELSE format_type(a.atttypid, a.atttypmod) END,
                       CASE WHEN t.typtype = 'e' THEN 'text' WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END,
                       NOT a.attnotnull, t.typcategory = 'A'
                FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_type t ON t.oid = a.atttypid
                LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
                LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
                WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')
                  AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum""")) {
            ps.setString(1, id.schema());
            ps.setString(2, id.table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(new ColumnSchema(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4), rs.getBoolean(5)));
                }
            }
        }
        if (columns.isEmpty()) {
            return Optional.empty();
        }
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT a.attname
                FROM pg_index i
                JOIN pg_class c ON c.oid = i.indrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                WHERE n.nspname = ? AND c.relname = ? AND i.indisprimary
                ORDER BY k.ord""")) {
            ps.setString(1, id.schema());
            ps.setString(2, id.table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
            }
        }
        return Optional.of(new TableSchema(id, columns, key));
    }

    /**
     * The foreign keys from any of {@code tables} to any of {@code tables} (self-references included). A key
     * declared on partitions counts as a key of their partitioned table.
     */
    @Override
    public List<ForeignKey> foreignKeysAmong(Collection<TableId> tables) throws SQLException {
        List<ForeignKey> keys = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT con.conname, cn.nspname, cc.relname, pn.nspname, pc.relname, con.condeferrable
                FROM pg_constraint con
                JOIN pg_class cc ON cc.oid = coalesce(pg_partition_root(con.conrelid), con.conrelid) JOIN pg_namespace cn ON cn.oid = cc.relnamespace
                JOIN pg_class pc ON pc.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid) JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                WHERE con.contype = 'f'
                ORDER BY 2, 3, 4, 5, 1""");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                TableId child = new TableId(rs.getString(2), rs.getString(3));
                TableId parent = new TableId(rs.getString(4), rs.getString(5));
                if (tables.contains(child) && tables.contains(parent)) {
                    keys.add(new ForeignKey(rs.getString(1), child, parent, rs.getBoolean(6)));
                }
            }
        }
        return keys;
    }

    /** A table's replica identity: {@code d} default (primary key), {@code f} full, {@code i} index, {@code n} nothing. */
    public char replicaIdentity(TableId table) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT relreplident FROM pg_class WHERE oid = to_regclass(?)")) {
            ps.setString(1, PostgresNames.qualified(table));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1).charAt(0) : 'd';
            }
        }
    }

    /** Every ordinary or partitioned table outside the system schemas, for "did you mean" suggestions. */
    @Override
    public List<TableId> tables() throws SQLException {
        List<TableId> tables = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                ORDER BY 1, 2""");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                tables.add(new TableId(rs.getString(1), rs.getString(2)));
            }
        }
        return tables;
    }
}
