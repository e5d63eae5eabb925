package dev.strangler.connectors.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ColumnSchema;
import dev.strangler.connectors.MariaDbCatalog;
import dev.strangler.connectors.ServiceCatalog;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.Mask;
import dev.strangler.core.RowTransform;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Everything the writer says to a MariaDB service database. The version guard is an
 * {@code INSERT ... ON DUPLICATE KEY UPDATE} whose every assignment is {@code IF(the stored version is older,
 * the new value, the old value)}, the version's own assignment last (MariaDB assigns left to right, so the
 * conditions before it still see the old version). Sessions run in strict mode (a value that does not fit is
 * an error, never cut) and in UTC. DDL commits implicitly in MariaDB, so the writer never runs it inside its
 * transaction ({@link #transactionalDdl()}).
 *
 * <p>The one place PostgreSQL types (as the monolith's catalog gives them) become MariaDB types: see
 * {@link #columnType}.
 */
public final class MariaDbDialect implements WriterDialect {

    public static final MariaDbDialect INSTANCE = new MariaDbDialect();

    /** Error codes: a child row without its parent (1452, 1216), a parent with children (1451, 1217). */
    private static final Set<Integer> FOREIGN_KEY_VIOLATIONS = Set.of(1451, 1452, 1216, 1217);
    /** Unknown column, data too long, out of range, column cannot be null, field without default. */
    private static final Set<Integer> SCHEMA_MISMATCHES = Set.of(1054, 1406, 1264, 1048, 1364);
    /** Lock wait timeout, deadlock, too many connections, shutdown, server gone, lost connection, connection killed. */
    private static final Set<Integer> TRANSIENT = Set.of(1205, 1213, 1040, 1053, 2006, 2013, 1927);
    private static final DateTimeFormatter DATETIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS", Locale.ROOT);
    private static final Pattern MODIFIERS = Pattern.compile("\\((\\d+)(?:,(\\d+))?\\)");
    /** The longest text key InnoDB indexes in utf8mb4 (3072 bytes). */
    private static final int KEY_CHARACTERS = 768;

    private MariaDbDialect() {
    }

    @Override
    public void configure(Properties connection, String applicationName) {
        connection.setProperty("connectionAttributes", "program_name:" + applicationName);
    }

    @Override
    public void prepareSession(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', "
                    + "time_zone = '+00:00'");
        }
    }

    @Override
    public ServiceCatalog catalog(Connection c) {
        return new MariaDbCatalog(c);
    }

    @Override
    public boolean transactionalDdl() {
        return false;
    }

    @Override
    public String quote(String identifier) {
        return "`" + identifier.replace("`", "``") + "`";
    }

    @Override
    public String qualified(TableId table) {
        return quote(table.schema()) + "." + quote(table.table());
    }

    @Override
    public String createOffsetsTable() {
        return "CREATE TABLE IF NOT EXISTS " + OFFSETS_TABLE + " (writer VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL, "
                + "kafka_partition INT NOT NULL, next_offset BIGINT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                + "PRIMARY KEY (writer, topic, kafka_partition)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    }

    @Override
    public String readOffsets() {
        return "SELECT kafka_partition, next_offset FROM " + OFFSETS_TABLE + " WHERE writer = ? AND topic = ?";
    }

    @Override
    public String upsertOffset() {
        return "INSERT INTO " + OFFSETS_TABLE + " (writer, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, ?, ?, NOW(6)) "
                + "ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), updated_at = NOW(6)";
    }

    /** A row key may be long: rows are found by the SHA-256 of it (a stored column, unique per writer). */
    @Override
    public String createParkedTable() {
        return "CREATE TABLE IF NOT EXISTS " + PARKED_TABLE + " (seq BIGINT NOT NULL AUTO_INCREMENT, writer VARCHAR(255) NOT NULL, "
                + "row_key LONGTEXT NOT NULL, row_hash BINARY(32) AS (UNHEX(SHA2(row_key, 256))) STORED, target_table VARCHAR(512) NOT NULL, "
                + "version BIGINT NOT NULL, parked_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), reason LONGTEXT NOT NULL, "
                + "record LONGBLOB NOT NULL, topic VARCHAR(255) NOT NULL, kafka_partition INT NOT NULL, kafka_offset BIGINT NOT NULL, "
                + "PRIMARY KEY (seq), UNIQUE KEY strangler_parked_row (writer, row_hash)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    }

    @Override
    public String park() {
        String newer = "version <= VALUES(version)";
        return "INSERT INTO " + PARKED_TABLE + " (writer, row_key, target_table, version, parked_at, reason, record, topic, kafka_partition, "
                + "kafka_offset) VALUES (?, ?, ?, ?, NOW(6), ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                + List.of("reason", "record", "topic", "kafka_partition", "kafka_offset", "version").stream()
                .map(c -> c + " = IF(" + newer + ", VALUES(" + c + "), " + c + ")").collect(Collectors.joining(", "));
    }

    @Override
    public String unpark() {
        return "DELETE FROM " + PARKED_TABLE + " WHERE writer = ? AND row_hash = UNHEX(SHA2(?, 256))";
    }

    @Override
    public String parkedIndex() {
        return "SELECT row_key, version FROM " + PARKED_TABLE + " WHERE writer = ?";
    }

    @Override
    public String nextParked() {
        // rows of a paused table (reason "paused: ...") wait for its fix, however long: they do not expire
        return "SELECT row_key, record, topic, kafka_partition, kafka_offset, reason, "
                + "parked_at < NOW(6) - INTERVAL ? SECOND AND reason NOT LIKE 'paused: %', pos, seq "
                + "FROM (SELECT p.*, FIND_IN_SET(target_table, ?) AS pos FROM " + PARKED_TABLE + " p WHERE writer = ?) p "
                + "WHERE (pos, seq) > (?, ?) AND FIND_IN_SET(target_table, ?) > 0 ORDER BY pos, seq LIMIT ?";
    }

    /** A comma-separated list, for {@code FIND_IN_SET} (table names hold no comma: the configuration refuses them). */
    @Override
    public void bindTextList(Connection c, PreparedStatement ps, int index, String[] values) throws SQLException {
        ps.setString(index, String.join(",", values));
    }

    @Override
    public String addVersionColumn(TableId table) {
        return "ALTER TABLE " + qualified(table) + " ADD COLUMN " + VERSION_COLUMN + " BIGINT";
    }

    @Override
    public List<String> createTable(TableRoute route, TableSchema source) {
        List<String> columns = new ArrayList<>();
        RowTransform transform = route.transform();
        for (ColumnSchema column : source.columns()) {
            Optional<String> target = route.targetColumn(column.name());
            Mask mask = transform.masks().get(column.name());
            String type = mask != null && mask.kind() != Mask.Kind.NULL ? "text" : transform.casts().getOrDefault(column.name(), column.type());
            boolean key = source.primaryKey().contains(column.name());
            boolean notNull = !column.nullable() && (mask == null || mask.kind() != Mask.Kind.NULL);
            target.ifPresent(name -> columns.add(quote(name) + " " + columnType(type, key) + (notNull ? " NOT NULL" : " NULL")));
        }
        transform.derived().forEach((name, expression) -> columns.add(quote(name) + " " + columnType(transform.derivedType(name), false) + " NULL"));
        columns.add(VERSION_COLUMN + " BIGINT NULL");
        String key = source.primaryKey().stream().map(c -> quote(route.targetColumn(c).orElseThrow())).collect(Collectors.joining(", "));
        // a binary collation: keys and comparisons as exact as PostgreSQL's ('a' and 'A' are two keys)
        return List.of("CREATE DATABASE IF NOT EXISTS " + quote(route.to().schema()),
                "CREATE TABLE IF NOT EXISTS " + qualified(route.to()) + " (" + String.join(", ", columns)
                        + ", PRIMARY KEY (" + key + ")) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    }

    @Override
    public String addColumn(TableId table, String column, String sourceType) {
        return "ALTER TABLE " + qualified(table) + " ADD COLUMN " + quote(column) + " " + columnType(sourceType, false) + " NULL";
    }

    @Override
    public String widenColumn(TableId table, String column, String sourceType) {
        return "ALTER TABLE " + qualified(table) + " MODIFY COLUMN " + quote(column) + " " + columnType(sourceType, false) + " NULL";
    }

    @Override
    public String dropColumn(TableId table, String column) {
        return "ALTER TABLE " + qualified(table) + " DROP COLUMN " + quote(column);
    }

    /**
     * The MariaDB type for a PostgreSQL type ({@code format_type}'s spelling): integers and numerics alike
     * (numeric without precision as DECIMAL(65,30), MariaDB's widest), varchar/char alike, text as LONGTEXT
     * (VARCHAR(768) in a key), bytea as LONGBLOB, boolean as BOOLEAN, timestamps as DATETIME(6) (with time zone:
     * the instant in UTC), uuid as CHAR(36), json/jsonb and arrays as LONGTEXT holding JSON, interval and network
     * addresses as VARCHAR(64), money as DECIMAL(19,2); any other type (enums, tsvector, ...) as its text.
     */
    public static String columnType(String postgresType, boolean key) {
        String t = postgresType.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("[]")) {
            return "LONGTEXT";
        }
        Matcher m = MODIFIERS.matcher(t);
        String precision = m.find() ? m.group(1) : null;
        String scale = precision == null ? null : m.group(2);
        String name = t.replaceAll("\\(.*?\\)", "").replaceAll("\\s+", " ").trim();
        String text = key ? "VARCHAR(" + KEY_CHARACTERS + ")" : "LONGTEXT";
        return switch (name) {
            case "smallint", "int2", "smallserial" -> "SMALLINT";
            case "integer", "int", "int4", "serial" -> "INT";
            case "bigint", "int8", "bigserial" -> "BIGINT";
            case "numeric", "decimal" -> precision == null ? "DECIMAL(65,30)"
                    : Integer.parseInt(precision) > 65 || scale != null && Integer.parseInt(scale) > 38 ? text
                    : "DECIMAL(" + precision + "," + (scale == null ? "0" : scale) + ")";
            case "real", "float4" -> "FLOAT";
            case "double precision", "float8" -> "DOUBLE";
            case "character varying", "varchar" -> precision == null ? text : "VARCHAR(" + precision + ")";
            case "character", "char", "bpchar" -> "CHAR(" + (precision == null ? "1" : precision) + ")";
            case "text", "citext", "name" -> text;
            case "bytea" -> key ? "VARBINARY(3072)" : "LONGBLOB";
            case "boolean", "bool" -> "BOOLEAN";
            case "date" -> "DATE";
            case "timestamp", "timestamp without time zone", "timestamp with time zone", "timestamptz" -> "DATETIME(6)";
            case "time", "time without time zone" -> "TIME(6)";
            case "uuid" -> "CHAR(36)";
            case "json", "jsonb" -> "LONGTEXT";
            case "interval", "inet", "cidr", "macaddr", "macaddr8" -> "VARCHAR(64)";
            case "money" -> "DECIMAL(19,2)";
            default -> text;
        };
    }

    @Override
    public String upsert(TableId table, List<String> columns, List<String> key, Guard guard) {
        boolean versioned = guard != Guard.UNVERSIONED;
        String names = columns.stream().map(this::quote).collect(Collectors.joining(", "));
        String params = columns.stream().map(c -> "?").collect(Collectors.joining(", "));
        String older = "(" + VERSION_COLUMN + " IS NULL OR " + VERSION_COLUMN + " < VALUES(" + VERSION_COLUMN + "))";
        List<String> assigned = new ArrayList<>(columns.stream().filter(c -> !key.contains(c)).map(this::quote).toList());
        if (versioned) {
            assigned.add(VERSION_COLUMN);    // last: the conditions before it compare with the stored version
        }
        List<String> sets = assigned.stream().map(c -> c + " = " + (guard == Guard.VERSIONED ? "IF(" + older + ", VALUES(" + c + "), " + c + ")"
                : "VALUES(" + c + ")")).collect(Collectors.toCollection(ArrayList::new));
        if (sets.isEmpty()) {
            // only key columns: the row exists, nothing to change (a no-op assignment, not INSERT IGNORE, which hides other errors)
            sets.add(quote(key.get(0)) + " = " + quote(key.get(0)));
        }
        return "INSERT INTO " + qualified(table) + " (" + names + (versioned ? ", " + VERSION_COLUMN : "") + ") VALUES (" + params
                + (versioned ? ", ?" : "") + ") ON DUPLICATE KEY UPDATE " + String.join(", ", sets);
    }

    @Override
    public String update(TableId table, List<String> columns, List<String> key, Guard guard) {
        List<String> sets = new ArrayList<>();
        columns.stream().filter(c -> !key.contains(c)).forEach(c -> sets.add(quote(c) + " = ?"));
        if (guard != Guard.UNVERSIONED) {
            sets.add(VERSION_COLUMN + " = ?");
        }
        if (sets.isEmpty()) {
            sets.add(quote(key.get(0)) + " = " + quote(key.get(0)));
        }
        return "UPDATE " + qualified(table) + " SET " + String.join(", ", sets) + " WHERE " + keyCondition(key)
                + (guard == Guard.VERSIONED ? " AND (" + VERSION_COLUMN + " IS NULL OR " + VERSION_COLUMN + " < ?)" : "");
    }

    @Override
    public String delete(TableId table, List<String> key, Guard guard) {
        return "DELETE FROM " + qualified(table) + " WHERE " + keyCondition(key)
                + (guard == Guard.VERSIONED ? " AND (" + VERSION_COLUMN + " IS NULL OR " + VERSION_COLUMN + " < ?)" : "");
    }

    private String keyCondition(List<String> key) {
        return key.stream().map(c -> quote(c) + " = ?").collect(Collectors.joining(" AND "));
    }

    /**
     * Binds one JSON value. Dates and times arrive as ISO text and are bound as MariaDB reads them (an instant
     * with an offset becomes its UTC date-time), booleans as 1/0, bytea (base64) as bytes, arrays and objects as
     * JSON text; everything else as text, which MariaDB converts to the column's type in strict mode.
     */
    @Override
    public void bind(PreparedStatement ps, int index, JsonNode value, ColumnSchema column) throws SQLException {
        if (value == null || value.isNull() || value.isMissingNode()) {
            ps.setNull(index, Types.VARCHAR);
        } else if (column != null && column.binary() && value.isTextual()) {
            ps.setBytes(index, Base64.getDecoder().decode(value.textValue()));
        } else if (value.isBoolean()) {
            ps.setBoolean(index, value.booleanValue());
        } else if (value.isTextual()) {
            ps.setString(index, column == null ? value.textValue() : temporal(value.textValue(), column.baseType()));
        } else if (value.isBigDecimal() || value.isDouble() || value.isFloat()) {
            ps.setString(index, value.decimalValue().toPlainString());
        } else if (value.isValueNode()) {
            ps.setString(index, value.asText());
        } else {
            ps.setString(index, value.toString());
        }
    }

    /** ISO text as MariaDB reads it for a date/time column; other text unchanged (and unparseable text too: MariaDB then says why). */
    static String temporal(String text, String baseType) {
        try {
            return switch (baseType) {
                case "timestamp", "timestamptz" -> dateTime(text);
                case "date" -> LocalDate.parse(withoutZone(text)).toString();
                case "time" -> LocalTime.parse(withoutZone(text)).toString();
                default -> text;
            };
        } catch (DateTimeParseException e) {
            return text;
        }
    }

    private static String dateTime(String text) {
        String iso = text.replace(' ', 'T');
        boolean zoned = iso.endsWith("Z") || iso.matches(".*T.*[+-]\\d{2}(:?\\d{2})?$");
        LocalDateTime local = zoned ? OffsetDateTime.parse(iso.matches(".*[+-]\\d{2}$") ? iso + ":00" : iso)
                .withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime() : LocalDateTime.parse(iso);
        return DATETIME.format(local);
    }

    private static String withoutZone(String text) {
        return text.endsWith("Z") ? text.substring(0, text.length() - 1) : text.replaceFirst("[+-]\\d{2}(:?\\d{2})?$", "");
    }

    @Override
    public boolean isTransient(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientException || t instanceof SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException s) {
                String state = s.getSQLState();
                if (state == null && s.getErrorCode() == 0 || state != null && (state.startsWith("08") || state.startsWith("40"))
                        || TRANSIENT.contains(s.getErrorCode())) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public boolean isForeignKeyViolation(SQLException e) {
        return hasCode(e, FOREIGN_KEY_VIOLATIONS);
    }

    @Override
    public boolean isSchemaMismatch(SQLException e) {
        return hasCode(e, SCHEMA_MISMATCHES);
    }

    private static boolean hasCode(SQLException e, Set<Integer> codes) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && codes.contains(s.getErrorCode())) {
                return true;
            }
        }
        return false;
    }
}
