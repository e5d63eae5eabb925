package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A MariaDB database's tables from {@code information_schema}: a monolith's, or a service's. A table is
 * {@code database.table}. Column types are given in PostgreSQL's terms, as {@code format_type} prints them
 * ({@link #postgresType}: the one place where MariaDB types are read), so the writer compares, widens and binds
 * columns the same way whatever the engine on either side.
 */
public final class MariaDbCatalog implements ServiceCatalog {

    private final Connection connection;

    public MariaDbCatalog(Connection connection) {
        this.connection = connection;
    }

    @Override
    public Optional<TableSchema> table(TableId id) throws SQLException {
        List<ColumnSchema> columns = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT column_name, data_type, column_type, is_nullable = 'YES' "
                + "FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position")) {
            ps.setString(1, id.schema());
            ps.setString(2, id.table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String type = postgresType(rs.getString(2), rs.getString(3));
                    String base = baseType(type);
                    columns.add(new ColumnSchema(rs.getString(1), type, base, rs.getBoolean(4), false));
                }
            }
        }
        if (columns.isEmpty()) {
            return Optional.empty();
        }
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT column_name FROM information_schema.key_column_usage "
                + "WHERE table_schema = ? AND table_name = ? AND constraint_name = 'PRIMARY' ORDER BY ordinal_position")) {
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

    /** The type's name without modifiers, as PostgreSQL's {@code typname}: timestamp, timestamptz, varchar, numeric... */
    private static String baseType(String type) {
        String name = type.replaceAll("\\(.*\\)", "");
        return switch (name) {
            case "timestamp with time zone" -> "timestamptz";
            case "timestamp without time zone" -> "timestamp";
            case "time without time zone" -> "time";
            case "character varying" -> "varchar";
            case "character" -> "bpchar";
            case "double precision" -> "float8";
            case "real" -> "float4";
            case "smallint" -> "int2";
            case "integer" -> "int4";
            case "bigint" -> "int8";
            case "boolean" -> "bool";
            default -> name;
        };
    }

    @Override
    public List<TableId> tables() throws SQLException {
        List<TableId> out = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT table_schema, table_name FROM information_schema.tables "
                + "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
                + "ORDER BY 1, 2");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new TableId(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }

    @Override
    public List<ForeignKey> foreignKeysAmong(java.util.Collection<TableId> tables) throws SQLException {
        List<ForeignKey> keys = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT DISTINCT constraint_name, table_schema, table_name, "
                + "referenced_table_schema, referenced_table_name FROM information_schema.key_column_usage "
                + "WHERE referenced_table_name IS NOT NULL ORDER BY 2, 3, 4, 5, 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                TableId child = new TableId(rs.getString(2), rs.getString(3));
                TableId parent = new TableId(rs.getString(4), rs.getString(5));
                if (tables.contains(child) && tables.contains(parent)) {
                    // MariaDB checks every foreign key at once: none is deferrable
                    keys.add(new ForeignKey(rs.getString(1), child, parent, false));
                }
            }
        }
        return keys;
    }

    /**
     * The PostgreSQL type for a MariaDB column ({@code data_type}, and {@code column_type} with its modifiers):
     * integers by range (unsigned ones one size up), DECIMAL as numeric, character types as varchar or text,
     * binary as bytea, DATETIME as timestamp, TIMESTAMP as timestamptz (MariaDB stores it in UTC), ENUM and
     * SET as text, BIT(1) as boolean, anything else as text.
     */
    public static String postgresType(String dataType, String columnType) {
        String t = dataType.toLowerCase(Locale.ROOT);
        String full = columnType.toLowerCase(Locale.ROOT);
        boolean unsigned = full.contains("unsigned");
        String modifiers = full.contains("(") ? full.substring(full.indexOf('('), full.indexOf(')') + 1) : "";
        return switch (t) {
            case "tinyint", "smallint" -> unsigned && t.equals("smallint") ? "integer" : "smallint";
            case "mediumint" -> "integer";
            case "int", "integer" -> unsigned ? "bigint" : "integer";
            case "bigint" -> unsigned ? "numeric(20)" : "bigint";
            case "decimal", "numeric" -> "numeric" + modifiers.replace(" ", "");
            case "float" -> "real";
            case "double", "real" -> "double precision";
            case "char" -> "character" + modifiers;
            case "varchar" -> "character varying" + modifiers;
            case "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json" -> "text";
            case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob" -> "bytea";
            case "date" -> "date";
            case "datetime" -> "timestamp" + modifiers + " without time zone";
            case "timestamp" -> "timestamp" + modifiers + " with time zone";
            case "time" -> "time" + modifiers + " without time zone";
            case "year" -> "smallint";
            case "bit" -> full.equals("bit(1)") ? "boolean" : "bytea";
            default -> "text";
        };
    }
}
