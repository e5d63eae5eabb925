package dev.strangler.validator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ColumnExpression;
import dev.strangler.core.Json;
import dev.strangler.sandbox.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every operator and function of the expression language evaluated by Strangler (on the row image a change
 * carries) and by PostgreSQL (on the same row in a table): the values agree. This is what lets the validator
 * push a derived column's expression into PostgreSQL.
 */
class ExpressionParityIT {

    private static EmbeddedPostgres postgres;

    /** The rows, as Debezium carries them (numeric as text, timestamptz as ISO-8601 UTC, date as ISO). */
    private static final List<String> ROWS = List.of(
            "{\"id\":1,\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"total\":\"12.345\",\"qty\":7,\"email\":\"ada@example.com\","
                    + "\"at\":\"2024-02-29T13:45:30.5Z\",\"day\":\"2024-02-29\",\"flag\":true,\"note\":\"  padded  \"}",
            "{\"id\":2,\"first_name\":\"Émile\",\"last_name\":\"Zola\",\"total\":\"-0.5\",\"qty\":-3,\"email\":\"EMILE@Example.org\","
                    + "\"at\":\"1999-12-31T23:59:59Z\",\"day\":\"2000-01-01\",\"flag\":false,\"note\":null}",
            "{\"id\":3,\"first_name\":null,\"last_name\":\"X\",\"total\":\"1000000.005\",\"qty\":0,\"email\":null,"
                    + "\"at\":\"2024-01-07T00:00:00Z\",\"day\":\"2024-01-07\",\"flag\":null,\"note\":\"a,b,,c\"}");

    private static final List<String> EXPRESSIONS = List.of(
            // operators
            "first_name || ' ' || last_name", "qty + 1", "qty - 10", "qty * qty", "qty / 2", "qty % 2", "total * 100", "total + qty",
            "total / 4", "-qty", "qty = 7", "qty <> 7", "total > 1", "qty >= 0 AND flag", "qty < 0 OR flag", "NOT flag",
            "first_name IS NULL", "note IS NOT NULL", "qty IN (1, 7, -3)", "qty NOT IN (1, 2)", "email LIKE '%@example.%'",
            "email ILIKE '%@EXAMPLE.COM'", "qty BETWEEN -3 AND 0", "last_name NOT LIKE 'Z%'",
            // CASE and CAST
            "CASE WHEN qty > 0 THEN 'positive' WHEN qty < 0 THEN 'negative' ELSE 'zero' END",
            "CASE qty WHEN 7 THEN 'seven' ELSE 'other' END", "CAST(total AS bigint)", "CAST(total AS numeric(10,1))", "qty::text",
            "CAST(qty AS numeric(6,2))", "CAST(flag AS text)", "CAST(day AS timestamp)", "CAST(at AS date)", "CAST('42' AS integer)",
            "CAST(qty AS boolean)", "CAST(email AS varchar(3))",
            // strings
            "upper(first_name)", "lower(email)", "trim(note)", "ltrim(note)", "rtrim(note)", "length(last_name)", "length(note)",
            "substr(last_name, 2)", "substr(last_name, 2, 3)", "substr(last_name, 0, 3)", "substring(email, 1, 3)",
            "replace(email, '@', ' at ')", "left(last_name, 3)", "left(last_name, -2)", "right(last_name, 3)", "right(last_name, -2)",
            "split_part(email, '@', 2)", "split_part(note, ',', 3)", "split_part(note, ',', -1)", "lpad(last_name, 10, '*')",
            "rpad(last_name, 6)", "lpad(last_name, 2)", "concat(first_name, '-', qty, '-', note)", "md5(last_name)",
            // numbers
            "round(total)", "round(total, 2)", "round(total, -1)", "round(total * 100)", "trunc(total, 1)", "trunc(total)",
            "floor(total)", "ceil(total)", "ceiling(total)", "abs(qty)", "abs(total)", "mod(qty, 3)", "greatest(qty, 1, total)",
            "least(qty, 1, total)",
            // dates and times
            "date_trunc('day', at)", "date_trunc('month', at)", "date_trunc('year', day)", "date_trunc('hour', at)",
            "date_trunc('week', at)", "date_trunc('quarter', at)", "date_trunc('minute', at)", "date_trunc('second', at)",
            "extract(year from at)", "extract(month from day)", "extract(day from at)", "extract(hour from at)",
            "extract(minute from at)", "extract(second from at)", "extract(dow from at)", "extract(isodow from day)",
            "extract(doy from at)", "extract(week from day)", "extract(quarter from at)", "extract(epoch from at)",
            "date_part('year', at)",
            // NULL handling
            "coalesce(first_name, last_name)", "coalesce(note, email, 'none')", "nullif(qty, 0)", "nullif(last_name, 'Zola')");

    @BeforeAll
    static void start() {
        postgres = EmbeddedPostgres.start();
        postgres.createDatabase("parity");
        postgres.execute("parity", "CREATE TABLE t (id int PRIMARY KEY, first_name text, last_name text, total numeric(12,3), qty int, "
                        + "email text, at timestamptz, day date, flag boolean, note text)",
                "INSERT INTO t VALUES (1, 'Ada', 'Lovelace', 12.345, 7, 'ada@example.com', '2024-02-29 13:45:30.5+00', '2024-02-29', true, '  padded  ')",
                "INSERT INTO t VALUES (2, 'Émile', 'Zola', -0.5, -3, 'EMILE@Example.org', '1999-12-31 23:59:59+00', '2000-01-01', false, null)",
                "INSERT INTO t VALUES (3, null, 'X', 1000000.005, 0, null, '2024-01-07 00:00:00+00', '2024-01-07', null, 'a,b,,c')");
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    @Test
    void everyOperatorAndFunctionAgreesWithPostgreSql() throws Exception {
        List<String> disagreements = new ArrayList<>();
        try (Connection c = postgres.connect("parity")) {
            try (var s = c.createStatement()) {
                s.execute("SET TIME ZONE 'UTC'");
            }
            for (String expression : EXPRESSIONS) {
                ColumnExpression compiled = expression.contains(" AND ") || expression.contains(" OR ") || expression.startsWith("NOT ")
                        || expression.matches(".*( = | <> | > | >= | < | IS | IN | NOT IN | LIKE | ILIKE | BETWEEN ).*") && !expression.startsWith("CASE")
                        ? ColumnExpression.condition(expression) : ColumnExpression.value(expression);
                for (String json : ROWS) {
                    ObjectNode row = (ObjectNode) Json.mapper().readTree(json);
                    String ours = compiled.evaluateText(row);
                    String theirs = postgres(c, expression, row.get("id").asInt());
                    if (!same(ours, theirs)) {
                        disagreements.add(expression + " on row " + row.get("id") + ": Strangler " + ours + ", PostgreSQL " + theirs);
                    }
                }
            }
        }
        assertThat(disagreements).isEmpty();
    }

    @Test
    void failuresArePostgreSqlsFailuresToo() throws Exception {
        ObjectNode row = (ObjectNode) Json.mapper().readTree(ROWS.get(0));
        try (Connection c = postgres.connect("parity")) {
            for (String expression : List.of("CAST(email AS bigint)", "qty / 0", "CAST(total AS numeric(2,1))", "CAST(last_name AS date)")) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> ColumnExpression.value(expression).evaluate(row))
                        .as(expression).isInstanceOf(ColumnExpression.EvaluationException.class);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> postgres(c, expression, 1)).as(expression)
                        .isInstanceOf(SQLException.class);
            }
        }
    }

    @Test
    void everyMaskComputedByPostgreSqlMatchesTheSyncEngines() throws Exception {
        byte[] key = "parity-mask-key-0123456789".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        List<String> disagreements = new ArrayList<>();
        try (Connection c = postgres.connect("parity")) {
            for (String maskText : List.of("hash", "redact", "null", "partial(keep-last=4)", "partial(keep-first=2)", "fake(email)",
                    "fake(name)", "fake(phone)")) {
                dev.strangler.core.Mask mask = dev.strangler.core.Mask.parse(maskText);
                for (String column : List.of("email", "last_name", "note", "first_name")) {
                    for (String json : ROWS) {
                        ObjectNode row = (ObjectNode) Json.mapper().readTree(json);
                        com.fasterxml.jackson.databind.JsonNode ours = mask.apply(row.get(column), key);
                        String theirs = postgres(c, TablePlan.maskSql(mask, "\"" + column + "\"", key), row.get("id").asInt());
                        if (!Objects.equals(ours.isNull() ? null : ours.asText(), theirs)) {
                            disagreements.add(maskText + " of " + column + " on row " + row.get("id") + ": Strangler " + ours + ", PostgreSQL " + theirs);
                        }
                    }
                }
            }
        }
        assertThat(disagreements).isEmpty();
    }

    private static String postgres(Connection c, String expression, int id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT (" + expression + ")::text FROM t WHERE id = ?")) {
            ps.setInt(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        } finally {
            if (!c.getAutoCommit()) {
                c.rollback();
            }
        }
    }

    /** Equal as text, as numbers (2.5 = 2.5000), as booleans, or as the same moment. */
    private static boolean same(String ours, String theirs) {
        if (Objects.equals(ours, theirs)) {
            return true;
        }
        if (ours == null || theirs == null) {
            return false;
        }
        try {
            return new BigDecimal(ours).compareTo(new BigDecimal(theirs)) == 0;
        } catch (NumberFormatException ignored) {
            // not numbers
        }
        String t = theirs.replace(' ', 'T');
        if (t.matches("\\d{4}-\\d{2}-\\d{2}T.*\\+00")) {
            t = t + ":00";
        }
        try {
            return OffsetDateTime.parse(ours).isEqual(OffsetDateTime.parse(t, DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        } catch (RuntimeException ignored) {
            // not timestamps with zone
        }
        return ours.equals(t);
    }
}
