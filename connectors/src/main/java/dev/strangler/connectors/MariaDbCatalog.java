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
 * A MariaDB monolith's tables from {@code information_schema}. A table is {@code database.table}. Column
 * types are given as the PostgreSQL type a service table gets for them ({@link #postgresType}: the one place
 * where MariaDB types are mapped), since services are PostgreSQL.
 */
public final class MariaDbCatalog implements SourceCatalog {

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
                    String base = type.contains("(") ? type.substring(0, type.indexOf('(')) : type;
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
            case "char", "varchar" -> "varchar" + modifiers;
            case "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json" -> "text";
            case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob" -> "bytea";
            case "date" -> "date";
            case "datetime" -> "timestamp" + (modifiers.isEmpty() ? "" : modifiers);
            case "timestamp" -> "timestamptz" + (modifiers.isEmpty() ? "" : modifiers);
            case "time" -> "time" + (modifiers.isEmpty() ? "" : modifiers);
            case "year" -> "smallint";
            case "bit" -> full.equals("bit(1)") ? "boolean" : "bytea";
            default -> "text";
        };
    }
}
