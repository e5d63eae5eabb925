package dev.strangler.validator.internal;

import dev.strangler.core.TableId;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The validator's SQL when the two sides are different engines (PostgreSQL and MariaDB, or MariaDB on both):
 * every value is rendered as the same text by either engine, so a row's text, its hash and a segment's
 * checksum agree across engines. The one place where values are normalised for cross-engine comparison:
 *
 * <ul>
 *   <li>integers and text as they are; numerics without trailing zeros ({@code 10.50} → {@code 10.5});
 *       floating point rounded to 9 decimals; booleans as {@code 1}/{@code 0};</li>
 *   <li>dates {@code YYYY-MM-DD}; timestamps (with time zone: at UTC) {@code YYYY-MM-DD HH:MI:SS.ffffff};
 *       times {@code HH:MI:SS.ffffff}; binary as lower-case hex; arrays as JSON; anything else as its text.</li>
 * </ul>
 *
 * A row's text joins its columns, each as {@code length:value} (or {@code N} for NULL), so no escaping is
 * needed and NULL differs from ''; its hash is the first 60 bits of the MD5 of that text (UTF-8), an integer
 * both engines compute alike; a segment's checksum is the count and the exact sum of the hashes. Text keys
 * are ordered by code point on both sides ({@code COLLATE "C"}, {@code utf8mb4_bin}) so ranges hold the same rows.
 *
 * @param types the PostgreSQL-spelled type of each key column, then of each compared column (both catalogs
 *              give types in PostgreSQL's terms)
 */
public record PortableChecksumSql(Engine engine, TableId table, List<String> keys, List<String> keyTypes, List<String> columns,
                                  List<String> columnTypes) implements ChecksumSql {

    /** The database a side runs on. */
    public enum Engine {
        POSTGRES, MARIADB;

        /** From the JDBC connection's product name. */
        public static Engine of(Connection c) throws SQLException {
            String product = c.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT);
            return product.contains("postgres") ? POSTGRES : MARIADB;
        }
    }

    public PortableChecksumSql {
        keys = List.copyOf(keys);
        keyTypes = List.copyOf(keyTypes);
        columns = List.copyOf(columns);
        columnTypes = List.copyOf(columnTypes);
    }

    private boolean postgres() {
        return engine == Engine.POSTGRES;
    }

    private String quote(String identifier) {
        return postgres() ? "\"" + identifier.replace("\"", "\"\"") + "\"" : "`" + identifier.replace("`", "``") + "`";
    }

    private String qualified() {
        return quote(table.schema()) + "." + quote(table.table());
    }

    private static String kind(String type) {
        String t = type.toLowerCase(Locale.ROOT).replaceAll("\\(.*?\\)", "").trim();
        if (t.endsWith("[]")) {
            return "array";
        }
        return switch (t) {
            case "smallint", "integer", "bigint" -> "integer";
            case "numeric", "decimal", "money" -> "numeric";
            case "real", "double precision" -> "float";
            case "boolean" -> "boolean";
            case "date" -> "date";
            case "timestamp without time zone", "timestamp" -> "timestamp";
            case "timestamp with time zone", "timestamptz" -> "timestamptz";
            case "time without time zone", "time" -> "time";
            case "bytea" -> "binary";
            case "character varying", "character", "text", "varchar", "char" -> "text";
            default -> "other";
        };
    }

    /** A value as its canonical text (NULL stays NULL). */
    private String text(String column, String type) {
        String c = quote(column);
        return switch (kind(type)) {
            case "integer", "text", "other" -> postgres() ? c + "::text" : "CAST(" + c + " AS CHAR)";
            case "numeric" -> postgres() ? "trim_scale(" + c + "::numeric)::text" : trimmedDecimal("CAST(" + c + " AS CHAR)");
            case "float" -> postgres() ? "trim_scale(round(" + c + "::numeric, 9))::text"
                    : trimmedDecimal("CAST(CAST(ROUND(" + c + ", 9) AS DECIMAL(65,9)) AS CHAR)");
            case "boolean" -> postgres() ? "CASE WHEN " + c + " THEN '1' WHEN NOT " + c + " THEN '0' END" : "CAST(" + c + " + 0 AS CHAR)";
            case "date" -> postgres() ? "to_char(" + c + ", 'YYYY-MM-DD')" : "DATE_FORMAT(" + c + ", '%Y-%m-%d')";
            case "timestamp" -> postgres() ? "to_char(" + c + ", 'YYYY-MM-DD HH24:MI:SS.US')" : "DATE_FORMAT(" + c + ", '%Y-%m-%d %H:%i:%s.%f')";
            case "timestamptz" -> postgres() ? "to_char(" + c + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                    : "DATE_FORMAT(" + c + ", '%Y-%m-%d %H:%i:%s.%f')";
            case "time" -> postgres() ? "to_char(" + c + "::interval, 'HH24:MI:SS.US')" : "TIME_FORMAT(" + c + ", '%H:%i:%s.%f')";
            case "binary" -> postgres() ? "encode(" + c + ", 'hex')" : "LOWER(HEX(" + c + "))";
            case "array" -> postgres() ? "array_to_json(" + c + ")::text" : "CAST(" + c + " AS CHAR)";
            default -> throw new IllegalStateException(type);
        };
    }

    /** MariaDB: a decimal's text without trailing zeros after the point (and without a lone point). */
    private static String trimmedDecimal(String text) {
        return "IF(INSTR(" + text + ", '.') > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + text + ")), " + text + ")";
    }

    private String keyText(int i) {
        return text(keys.get(i), keyTypes.get(i));
    }

    /** A key column as compared in ranges and orders: text by code point. */
    private String keyOrder(int i, String prefix) {
        String c = prefix + quote(keys.get(i));
        if (!kind(keyTypes.get(i)).equals("text")) {
            return c;
        }
        return postgres() ? c + " COLLATE \"C\"" : c + " COLLATE utf8mb4_bin";
    }

    private String param(int i) {
        if (!postgres()) {
            return kind(keyTypes.get(i)).equals("text") ? "CAST(? AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin" : "?";
        }
        String type = keyTypes.get(i);
        return kind(type).equals("text") ? "?::text COLLATE \"C\"" : "?::" + type;
    }

    private String keyTuple(String prefix) {
        String joined = IntStream.range(0, keys.size()).mapToObj(i -> keyOrder(i, prefix)).collect(Collectors.joining(", "));
        return keys.size() == 1 ? joined : "(" + joined + ")";
    }

    private String paramTuple() {
        String joined = IntStream.range(0, keys.size()).mapToObj(this::param).collect(Collectors.joining(", "));
        return keys.size() == 1 ? joined : "(" + joined + ")";
    }

    private String orderBy() {
        return IntStream.range(0, keys.size()).mapToObj(i -> keyOrder(i, "t.")).collect(Collectors.joining(", "));
    }

    private String rowText() {
        String parts = IntStream.range(0, columns.size()).mapToObj(i -> {
            String value = text(columns.get(i), columnTypes.get(i));
            return postgres() ? "coalesce(length(" + value + ")::text || ':' || " + value + ", 'N')"
                    : "COALESCE(CONCAT(CHAR_LENGTH(" + value + "), ':', " + value + "), 'N')";
        }).collect(Collectors.joining(postgres() ? " || ',' || " : ", ',', "));
        if (columns.isEmpty()) {
            return "''";
        }
        return postgres() ? parts : "CONVERT(CONCAT(" + parts + ") USING utf8mb4)";
    }

    /** The first 60 bits of the row text's MD5, as a non-negative integer. */
    private String rowHash() {
        return postgres() ? "('x' || lpad(left(md5(" + rowText() + "), 15), 16, '0'))::bit(64)::bigint"
                : "CAST(CONV(LEFT(MD5(" + rowText() + "), 15), 16, 10) AS UNSIGNED)";
    }

    @Override
    public String rangeCondition(boolean hasLower, boolean hasUpper) {
        StringBuilder where = new StringBuilder("1 = 1");
        if (hasLower) {
            where.append(" AND ").append(keyTuple("t.")).append(" > ").append(paramTuple());
        }
        if (hasUpper) {
            where.append(" AND ").append(keyTuple("t.")).append(" <= ").append(paramTuple());
        }
        return where.toString();
    }

    @Override
    public String checksum(boolean hasLower, boolean hasUpper) {
        return postgres()
                ? "SELECT count(*), coalesce(sum(" + rowHash() + "), 0)::text FROM " + qualified() + " t WHERE " + rangeCondition(hasLower, hasUpper)
                : "SELECT COUNT(*), CAST(COALESCE(SUM(" + rowHash() + "), 0) AS CHAR) FROM " + qualified() + " t WHERE "
                + rangeCondition(hasLower, hasUpper);
    }

    @Override
    public String boundaries(boolean hasLower, boolean hasUpper) {
        String keyTexts = IntStream.range(0, keys.size()).mapToObj(this::keyText).collect(Collectors.joining(", "));
        String keyCols = keys.stream().map(this::quote).collect(Collectors.joining(", "));
        return "SELECT " + keyTexts + " FROM (SELECT " + keyCols + ", row_number() OVER (ORDER BY " + orderBy() + ") AS strangler_rn FROM "
                + qualified() + " t WHERE " + rangeCondition(hasLower, hasUpper) + ") s WHERE MOD(strangler_rn, ?) = 0 ORDER BY strangler_rn";
    }

    @Override
    public boolean samplesPages() {
        return false;
    }

    @Override
    public String sampledKeys(boolean hasLower) {
        throw new UnsupportedOperationException("cross-engine validation cuts segments from every key, not from a sample");
    }

    @Override
    public String rows(boolean hasLower, boolean hasUpper) {
        return "SELECT " + rowColumns() + " FROM " + qualified() + " t WHERE " + rangeCondition(hasLower, hasUpper) + " ORDER BY " + orderBy();
    }

    @Override
    public String rowsForKeys(int count) {
        String tuples = IntStream.range(0, count).mapToObj(i -> paramTuple()).collect(Collectors.joining(", "));
        return "SELECT " + rowColumns() + " FROM " + qualified() + " t WHERE " + keyTuple("t.") + " IN (" + tuples + ")";
    }

    private String rowColumns() {
        String keyTexts = IntStream.range(0, keys.size()).mapToObj(this::keyText).collect(Collectors.joining(", "));
        String values = IntStream.range(0, columns.size()).mapToObj(i -> {
            String value = text(columns.get(i), columnTypes.get(i));
            // as in the row text: NULL and '' differ
            return postgres() ? "coalesce('v' || " + value + ", 'N')" : "COALESCE(CONCAT('v', " + value + "), 'N')";
        }).collect(Collectors.joining(", "));
        return keyTexts + (columns.isEmpty() ? "" : ", " + values);
    }

    @Override
    public long estimate(Connection c, TableId table) throws SQLException {
        String sql = postgres() ? "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(?)"
                : "SELECT COALESCE(MAX(table_rows), 0) FROM information_schema.tables WHERE CONCAT(table_schema, '.', table_name) = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, postgres() ? quote(table.schema()) + "." + quote(table.table()) : table.schema() + "." + table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }
}
