package dev.strangler.connectors.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ColumnSchema;
import dev.strangler.connectors.TableSchema;
import dev.strangler.connectors.PostgresNames;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;

import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.connectors.ServiceCatalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * Everything the writer says to PostgreSQL: statements and how a JSON value is bound to a column.
 * The one place PostgreSQL types are mapped on the write side.
 *
 * <p>Values are bound as text with {@code stringtype=unspecified}, so PostgreSQL parses each into its
 * column's own type (numeric of any precision, uuid, jsonb, timestamptz, inet, enums) exactly as it
 * parses SQL literals. Only bytea (base64 in the envelope) and arrays (JSON arrays) are converted.
 */
public final class PostgresDialect implements WriterDialect {

    public static final PostgresDialect INSTANCE = new PostgresDialect();

    /** SQLState of a foreign-key violation. */
    private static final String FOREIGN_KEY_VIOLATION = "23503";

    private PostgresDialect() {
    }

    @Override
    public String quote(String identifier) {
        return PostgresNames.quote(identifier);
    }

    @Override
    public String qualified(TableId table) {
        return PostgresNames.qualified(table);
    }

    @Override
    public String createOffsetsTable() {
        return "CREATE TABLE IF NOT EXISTS " + OFFSETS_TABLE + " (writer text NOT NULL, topic text NOT NULL, "
                + "kafka_partition int NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), "
                + "PRIMARY KEY (writer, topic, kafka_partition))";
    }

    @Override
    public String readOffsets() {
        return "SELECT kafka_partition, next_offset FROM " + OFFSETS_TABLE + " WHERE writer = ? AND topic = ?";
    }

    @Override
    public String upsertOffset() {
        return "INSERT INTO " + OFFSETS_TABLE + " (writer, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, ?, ?, now()) "
                + "ON CONFLICT (writer, topic, kafka_partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()";
    }

    @Override
    public String createParkedTable() {
        return "CREATE TABLE IF NOT EXISTS " + PARKED_TABLE + " (writer text NOT NULL, row_key text NOT NULL, "
                + "seq bigint GENERATED ALWAYS AS IDENTITY, target_table text NOT NULL, version bigint NOT NULL, "
                + "parked_at timestamptz NOT NULL DEFAULT now(), reason text NOT NULL, record bytea NOT NULL, "
                + "topic text NOT NULL, kafka_partition int NOT NULL, kafka_offset bigint NOT NULL, PRIMARY KEY (writer, row_key))";
    }

    /** Parks a row, or replaces a parked row of the same key with a newer version. */
    @Override
    public String park() {
        return "INSERT INTO " + PARKED_TABLE + " AS p (writer, row_key, target_table, version, parked_at, reason, record, topic, kafka_partition, kafka_offset) "
                + "VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?) ON CONFLICT (writer, row_key) DO UPDATE SET version = EXCLUDED.version, "
                + "reason = EXCLUDED.reason, record = EXCLUDED.record, topic = EXCLUDED.topic, kafka_partition = EXCLUDED.kafka_partition, "
                + "kafka_offset = EXCLUDED.kafka_offset WHERE p.version <= EXCLUDED.version";
    }

    @Override
    public String unpark() {
        return "DELETE FROM " + PARKED_TABLE + " WHERE writer = ? AND row_key = ?";
    }

    /** Keys and versions of every parked row of a writer. */
    @Override
    public String parkedIndex() {
        return "SELECT row_key, version FROM " + PARKED_TABLE + " WHERE writer = ?";
    }

    /**
     * The next page of a writer's parked rows of some tables after a cursor, parents first: ordered by the
     * position of their table in the array parameter (the foreign-key order), then by when they were first parked.
     */
    @Override
    public String nextParked() {
        // rows of a paused table (reason "paused: ...") wait for its fix, however long: they do not expire
        return "SELECT row_key, record, topic, kafka_partition, kafka_offset, reason, "
                + "parked_at < now() - make_interval(secs => ?) AND reason NOT LIKE 'paused: %', pos, seq "
                + "FROM (SELECT *, coalesce(array_position(?::text[], target_table), 0) AS pos FROM " + PARKED_TABLE + " WHERE writer = ?) p "
                + "WHERE (pos, seq) > (?, ?) AND target_table = ANY (?::text[]) ORDER BY pos, seq LIMIT ?";
    }

    @Override
    public String addVersionColumn(TableId table) {
        return "ALTER TABLE " + qualified(table) + " ADD COLUMN IF NOT EXISTS " + VERSION_COLUMN + " bigint";
    }

    /** The target table for a route, built from the source table: mapped names, same types and key. */
    @Override
    public List<String> createTable(TableRoute route, TableSchema source) {
        List<String> columns = new ArrayList<>();
        dev.strangler.core.RowTransform transform = route.transform();
        for (ColumnSchema column : source.columns()) {
            Optional<String> target = route.targetColumn(column.name());
            // a cast column gets the cast's type; a masked one text (a hash, stars, a made-up value), NULL for mask: null
            dev.strangler.core.Mask mask = transform.masks().get(column.name());
            String type = mask != null && mask.kind() != dev.strangler.core.Mask.Kind.NULL ? "text"
                    : transform.casts().getOrDefault(column.name(), column.type());
            boolean notNull = !column.nullable() && (mask == null || mask.kind() != dev.strangler.core.Mask.Kind.NULL);
            target.ifPresent(name -> columns.add(quote(name) + " " + type + (notNull ? " NOT NULL" : "")));
        }
        transform.derived().forEach((name, expression) -> columns.add(quote(name) + " " + transform.derivedType(name)));
        columns.add(VERSION_COLUMN + " bigint");
        String key = source.primaryKey().stream().map(c -> quote(route.targetColumn(c).orElseThrow())).collect(Collectors.joining(", "));
        return List.of("CREATE SCHEMA IF NOT EXISTS " + quote(route.to().schema()),
                "CREATE TABLE IF NOT EXISTS " + qualified(route.to()) + " (" + String.join(", ", columns)
                        + ", PRIMARY KEY (" + key + "))");
    }


    /** Debezium's signalling table in the monolith: an {@code execute-snapshot} row starts an incremental snapshot. */
    public static final String SIGNAL_TABLE = "strangler_signal";
    public static final TableId SIGNAL_TABLE_ID = new TableId("public", SIGNAL_TABLE);

    public static String createSignalTable() {
        return "CREATE TABLE IF NOT EXISTS public." + SIGNAL_TABLE + " (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))";
    }

    /** Parameters: id, data (JSON). */
    public static String insertSnapshotSignal() {
        return "INSERT INTO public." + SIGNAL_TABLE + " (id, type, data) VALUES (?, 'execute-snapshot', ?)";
    }

    /** Marker table of two-way sync: every writer transaction into a captured database updates its row first. */
    public static final String ORIGIN_TABLE = "strangler_origin";
    public static final TableId ORIGIN_TABLE_ID = new TableId("public", ORIGIN_TABLE);

    public static List<String> createOriginTable() {
        return List.of("CREATE TABLE IF NOT EXISTS public." + ORIGIN_TABLE + " (writer text PRIMARY KEY, origin text NOT NULL, "
                        + "tx bigint NOT NULL DEFAULT 0, through bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now())",
                "ALTER TABLE public." + ORIGIN_TABLE + " ADD COLUMN IF NOT EXISTS through bigint NOT NULL DEFAULT 0");
    }

    /** Parameters: writer, origin. */
    public static String registerOrigin() {
        return "INSERT INTO public." + ORIGIN_TABLE + " (writer, origin) VALUES (?, ?) ON CONFLICT (writer) DO UPDATE SET origin = EXCLUDED.origin";
    }

    /**
     * The marker change of one writer transaction: the highest {@code seq} of the rows it applies (two-way
     * sync's record of what this database has seen). Parameters: seq, writer.
     */
    public static String markOrigin() {
        return "UPDATE public." + ORIGIN_TABLE + " SET tx = tx + 1, through = greatest(through, ?), updated_at = now() WHERE writer = ?";
    }

    /** Insert, or update (when the guard lets it). Parameters: columns..., version (not UNVERSIONED). */
    @Override
    public String upsert(TableId table, List<String> columns, List<String> key, Guard guard) {
        boolean versioned = guard != Guard.UNVERSIONED;
        String names = columns.stream().map(this::quote).collect(Collectors.joining(", "));
        String params = columns.stream().map(c -> "?").collect(Collectors.joining(", "));
        List<String> sets = new ArrayList<>();
        for (String c : columns) {
            if (!key.contains(c)) {
                sets.add(quote(c) + " = EXCLUDED." + quote(c));
            }
        }
        if (versioned) {
            sets.add(VERSION_COLUMN + " = EXCLUDED." + VERSION_COLUMN);
        }
        String conflict = " ON CONFLICT (" + key.stream().map(this::quote).collect(Collectors.joining(", ")) + ") DO "
                + (sets.isEmpty() ? "NOTHING" : "UPDATE SET " + String.join(", ", sets));
        return "INSERT INTO " + qualified(table) + " AS t (" + names + (versioned ? ", " + VERSION_COLUMN : "") + ") VALUES (" + params
                + (versioned ? ", ?" : "") + ")" + conflict
                + (guard == Guard.VERSIONED && !sets.isEmpty() ? " WHERE t." + VERSION_COLUMN + " IS NULL OR t." + VERSION_COLUMN + " < EXCLUDED." + VERSION_COLUMN : "");
    }

    /**
     * Update of the given columns only (when the guard lets it). Parameters: columns..., version (not
     * UNVERSIONED), key..., version (VERSIONED only).
     */
    @Override
    public String update(TableId table, List<String> columns, List<String> key, Guard guard) {
        List<String> sets = new ArrayList<>();
        columns.stream().filter(c -> !key.contains(c)).forEach(c -> sets.add(quote(c) + " = ?"));
        if (guard != Guard.UNVERSIONED) {
            sets.add(VERSION_COLUMN + " = ?");
        }
        if (sets.isEmpty()) {
            // nothing but key columns: a no-op that still binds the key
            sets.add(quote(key.get(0)) + " = " + quote(key.get(0)));
        }
        return "UPDATE " + qualified(table) + " SET " + String.join(", ", sets) + " WHERE " + keyCondition(key)
                + (guard == Guard.VERSIONED ? " AND (" + VERSION_COLUMN + " IS NULL OR " + VERSION_COLUMN + " < ?)" : "");
    }

    /** Delete (when the guard lets it). Parameters: key..., version (VERSIONED only). */
    @Override
    public String delete(TableId table, List<String> key, Guard guard) {
        return "DELETE FROM " + qualified(table) + " WHERE " + keyCondition(key)
                + (guard == Guard.VERSIONED ? " AND (" + VERSION_COLUMN + " IS NULL OR " + VERSION_COLUMN + " < ?)" : "");
    }

    private String keyCondition(List<String> key) {
        return key.stream().map(c -> quote(c) + " = ?").collect(Collectors.joining(" AND "));
    }

    /** Binds one JSON value for a column of the given type (null column: unknown, bound as text). */
    @Override
    public void bind(PreparedStatement ps, int index, JsonNode value, ColumnSchema column) throws SQLException {
        if (value == null || value.isNull() || value.isMissingNode()) {
            ps.setNull(index, Types.OTHER);
        } else if (column != null && column.binary() && value.isTextual()) {
            ps.setBytes(index, Base64.getDecoder().decode(value.textValue()));
        } else if (value.isTextual()) {
            ps.setString(index, value.textValue());
        } else if (value.isArray() && (column == null || column.array())) {
            ps.setString(index, arrayLiteral(value));
        } else if (value.isBigDecimal() || value.isDouble() || value.isFloat()) {
            ps.setString(index, value.decimalValue().toPlainString());
        } else if (value.isValueNode()) {
            ps.setString(index, value.asText());
        } else {
            ps.setString(index, value.toString());
        }
    }

    /** A PostgreSQL array literal, {@code {"a","b",NULL}}, from a JSON array (nested arrays for dimensions). */
    static String arrayLiteral(JsonNode array) {
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < array.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            JsonNode element = array.get(i);
            if (element == null || element.isNull()) {
                out.append("NULL");
            } else if (element.isArray()) {
                out.append(arrayLiteral(element));
            } else {
                String text = element.isTextual() ? element.textValue()
                        : element.isBigDecimal() || element.isDouble() ? element.decimalValue().toPlainString()
                        : element.isValueNode() ? element.asText() : element.toString();
                out.append('"').append(text.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
        }
        return out.append('}').toString();
    }

    /** Whether a failure is worth retrying on a new connection (connection loss, deadlock, resources). */
    @Override
    public boolean isTransient(SQLException e) {
        String state = e.getSQLState();
        if (state == null) {
            return true;
        }
        return state.startsWith("08") || state.startsWith("40") || state.startsWith("53") || state.startsWith("57")
                || state.equals("55P03");
    }

    @Override
    public void configure(Properties connection, String applicationName) {
        // values go as text and PostgreSQL parses each into its column's own type
        connection.setProperty("stringtype", "unspecified");
        connection.setProperty("reWriteBatchedInserts", "true");
        connection.setProperty("ApplicationName", applicationName);
    }

    @Override
    public void prepareSession(Connection c) {
    }

    @Override
    public ServiceCatalog catalog(Connection c) {
        return new PostgresCatalog(c);
    }

    @Override
    public boolean transactionalDdl() {
        return true;
    }

    @Override
    public void bindTextList(Connection c, PreparedStatement ps, int index, String[] values) throws SQLException {
        ps.setArray(index, c.createArrayOf("text", values));
    }

    @Override
    public String addColumn(TableId table, String column, String sourceType) {
        return "ALTER TABLE " + qualified(table) + " ADD COLUMN IF NOT EXISTS " + quote(column) + " " + sourceType;
    }

    @Override
    public String widenColumn(TableId table, String column, String sourceType) {
        return "ALTER TABLE " + qualified(table) + " ALTER COLUMN " + quote(column) + " TYPE " + sourceType;
    }

    @Override
    public String dropColumn(TableId table, String column) {
        return "ALTER TABLE " + qualified(table) + " DROP COLUMN IF EXISTS " + quote(column);
    }

    @Override
    public boolean isForeignKeyViolation(SQLException e) {
        return FOREIGN_KEY_VIOLATION.equals(e.getSQLState());
    }

    /** 42703 undefined column, 22001 value too long, 22003 out of range, 23502 not null. */
    @Override
    public boolean isSchemaMismatch(SQLException e) {
        return List.of("42703", "22001", "22003", "23502").contains(String.valueOf(e.getSQLState()));
    }
}
