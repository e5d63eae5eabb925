package dev.strangler.cli;

import dev.strangler.sandbox.BinlogDatabase;
import dev.strangler.sandbox.SqlScript;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chinook across engines, both ways, with the dataset's own scripts for each engine: a MariaDB or MySQL monolith
 * (the MySQL script) moved to a PostgreSQL service whose schema is the dataset's PostgreSQL one (snake_case
 * names), and a PostgreSQL monolith moved to a MariaDB or MySQL service whose schema is the MySQL script's
 * (CamelCase names, foreign keys checked at once). Run against MariaDB ({@link ChinookMariaDbIT}) and MySQL
 * ({@link ChinookMySqlIT}). Every table, renamed column by column, copied and then kept equal
 * row for row under a mixed workload of inserts, updates and deletes in the monolith.
 */
abstract class ChinookBinlogIT extends SandboxTestBase {

    /** The MariaDB or MySQL server, started by the subclass. */
    protected static BinlogDatabase server;

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** MariaDB table → PostgreSQL table. */
    private static final Map<String, String> TABLES = new LinkedHashMap<>();

    static {
        for (String t : List.of("Artist", "Album", "Employee", "Customer", "Genre", "MediaType", "Track", "Invoice", "InvoiceLine",
                "Playlist", "PlaylistTrack")) {
            TABLES.put(t, snake(t));
        }
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    @Test
    void everyTableOfChinookMovesFromTheBinlogMonolithToPostgreSqlAndStaysEqual() throws Exception {
        Path chinook = PagilaForeignKeysIT.dataset("chinook");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            String mysqlScript = Files.readString(chinook.resolve("Chinook_MySql.sql"), StandardCharsets.UTF_8);
            try (Connection c = java.sql.DriverManager.getConnection(server.jdbcUrl("mysql") + "?allowMultiQueries=true",
                    server.user(), server.password()); Statement s = c.createStatement()) {
                s.execute(mysqlScript);
            }
            String pgScript = Files.readString(chinook.resolve("Chinook_PostgreSql.sql"), StandardCharsets.UTF_8);
            String body = pgScript.substring(pgScript.indexOf("\\c chinook;") + "\\c chinook;".length());
            Path ddl = h.workDir.resolve("chinook-ddl.sql");
            Files.writeString(ddl, body.substring(0, body.indexOf("INSERT INTO")));
            try (Connection service = postgres.connect(h.serviceDb)) {
                SqlScript.run(service, ddl);
            }

            Map<String, List<String[]>> columns = new LinkedHashMap<>();
            StringBuilder tables = new StringBuilder();
            try (Connection c = server.connect("Chinook")) {
                for (String table : TABLES.keySet()) {
                    List<String[]> cols = new ArrayList<>();
                    try (PreparedStatement ps = c.prepareStatement("SELECT column_name, data_type FROM information_schema.columns "
                            + "WHERE table_schema = 'Chinook' AND table_name = ? ORDER BY ordinal_position")) {
                        ps.setString(1, table);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                cols.add(new String[] {rs.getString(1), rs.getString(2)});
                            }
                        }
                    }
                    columns.put(table, cols);
                    tables.append("- from: Chinook.").append(table).append("\n  to: public.").append(TABLES.get(table)).append("\n  columns: {");
                    tables.append(String.join(", ", cols.stream().map(col -> col[0] + ": " + snake(col[0])).toList())).append("}\n");
                }
            }
            String yaml = h.config(tables.toString())
                    .replace("  url: " + postgres.jdbcUrl(h.monolithDb) + "\n  user: postgres\n  password: postgres",
                            "  type: " + server.type() + "\n  url: " + server.jdbcUrl("Chinook") + "\n  user: " + server.user()
                                    + "\n  password: " + server.password());
            assertThat(yaml).contains("type: " + server.type());
            h.startStranglerWith(yaml);
            awaitEqual(h, h.serviceDb, "Chinook", columns, Duration.ofSeconds(120));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM track")).isEqualTo(3503);

            Random random = new Random(11);
            try (Connection m = server.connect("Chinook")) {
                m.setAutoCommit(false);
                int line = 10_000;
                for (int invoice = 1000; invoice < 1030; invoice++) {
                    ChinookIT.execute(m, "INSERT INTO Invoice (InvoiceId, CustomerId, InvoiceDate, BillingCity, Total) VALUES (?, ?, '2026-11-22 10:00:00', 'Oslo', 0)",
                            invoice, 1 + random.nextInt(59));
                    for (int l = 0; l < 1 + random.nextInt(3); l++) {
                        ChinookIT.execute(m, "INSERT INTO InvoiceLine VALUES (?, ?, ?, 0.99, 1)", ++line, invoice, 1 + random.nextInt(3503));
                    }
                    ChinookIT.execute(m, "UPDATE Invoice SET Total = (SELECT sum(UnitPrice * Quantity) FROM InvoiceLine WHERE InvoiceId = ?) WHERE InvoiceId = ?",
                            invoice, invoice);
                    m.commit();
                    ChinookIT.execute(m, "UPDATE Track SET UnitPrice = UnitPrice + 0.01, Name = concat(Name, ' ∞') WHERE TrackId = ?", 1 + random.nextInt(3503));
                    ChinookIT.execute(m, "DELETE FROM PlaylistTrack WHERE PlaylistId = 1 ORDER BY TrackId LIMIT 1");
                    ChinookIT.execute(m, "UPDATE Employee SET Title = ? WHERE EmployeeId = ?", "Title " + invoice, 1 + random.nextInt(8));
                    m.commit();
                }
            }
            awaitEqual(h, h.serviceDb, "Chinook", columns, Duration.ofSeconds(90));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM invoice WHERE billing_city = 'Oslo' AND invoice_id >= 1000")).isEqualTo(30);
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());

            // the validator compares across engines: consistent, then drift made in the service is found, row by row
            h.stopStrangler();
            Path config = h.writeConfigText(yaml + "validator: {recheckAfter: 200ms}\n");
            assertValidates(config, "consistent");
            postgres.execute(h.serviceDb, "DELETE FROM invoice_line WHERE invoice_line_id = 10001",
                    "UPDATE track SET name = 'drifted', unit_price = 1.5 WHERE track_id = 7",
                    "UPDATE invoice SET invoice_date = invoice_date + interval '1 second' WHERE invoice_id = 5",
                    "INSERT INTO genre VALUES (1000, 'only in the service')");
            assertDrift(config, Map.of("svc/public.invoice_line", "1 missing", "svc/public.track", "1 different [name, unit_price]",
                    "svc/public.invoice", "1 different [invoice_date]", "svc/public.genre", "1 extra"));
        }
    }

    /** Whether this engine's run includes the PostgreSQL → binlog service direction (see {@link ChinookMySqlIT}). */
    boolean runsServiceDirection() {
        return true;
    }

    @Test
    void everyTableOfChinookMovesFromPostgreSqlToTheBinlogServiceAndStaysEqual() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(runsServiceDirection(),
                "PostgreSQL -> MySQL Chinook runs with -Dstrangler.it.full=true (the suite's time budget; MySqlCrashIT writes a MySQL service)");
        Path chinook = PagilaForeignKeysIT.dataset("chinook");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            String pgScript = Files.readString(chinook.resolve("Chinook_PostgreSql.sql"), StandardCharsets.UTF_8);
            Path body = h.workDir.resolve("chinook-body.sql");
            Files.writeString(body, pgScript.substring(pgScript.indexOf("\\c chinook;") + "\\c chinook;".length()));
            try (Connection monolith = postgres.connect(h.monolithDb)) {
                SqlScript.run(monolith, body);
            }
            // the service: the MySQL script's tables and foreign keys, no rows, in a database of its own
            String mysqlScript = Files.readString(chinook.resolve("Chinook_MySql.sql"), StandardCharsets.UTF_8);
            String ddl = mysqlScript.substring(0, mysqlScript.indexOf("INSERT INTO")).replace("`Chinook`", "`ChinookService`");
            try (Connection c = java.sql.DriverManager.getConnection(server.jdbcUrl("mysql") + "?allowMultiQueries=true",
                    server.user(), server.password()); Statement s = c.createStatement()) {
                s.execute(ddl);
            }
            Map<String, List<String[]>> columns = columnsOf("ChinookService");
            StringBuilder tables = new StringBuilder();
            for (Map.Entry<String, List<String[]>> table : columns.entrySet()) {
                tables.append("- from: public.").append(TABLES.get(table.getKey())).append("\n  to: ChinookService.").append(table.getKey())
                        .append("\n  columns: {").append(String.join(", ", table.getValue().stream().map(col -> snake(col[0]) + ": " + col[0]).toList()))
                        .append("}\n");
            }
            String yaml = h.config(tables.toString())
                    .replace("    url: " + postgres.jdbcUrl(h.serviceDb) + "\n    user: postgres\n    password: postgres",
                            "    type: " + server.type() + "\n    url: " + server.jdbcUrl("ChinookService") + "\n    user: " + server.user()
                                    + "\n    password: " + server.password());
            assertThat(yaml).contains("type: " + server.type());
            h.startStranglerWith(yaml);
            awaitEqual(h, h.monolithDb, "ChinookService", columns, Duration.ofSeconds(120));
            assertThat(mariadbRows("ChinookService", "SELECT count(*) FROM Track")).containsExactly(List.of("3503"));

            Random random = new Random(13);
            try (Connection m = postgres.connect(h.monolithDb)) {
                m.setAutoCommit(false);
                int line = 10_000;
                for (int invoice = 1000; invoice < 1030; invoice++) {
                    ChinookIT.execute(m, "INSERT INTO invoice (invoice_id, customer_id, invoice_date, billing_city, total) VALUES (?, ?, '2026-11-22 10:00:00', 'Oslo', 0)",
                            invoice, 1 + random.nextInt(59));
                    for (int l = 0; l < 1 + random.nextInt(3); l++) {
                        ChinookIT.execute(m, "INSERT INTO invoice_line VALUES (?, ?, ?, 0.99, 1)", ++line, invoice, 1 + random.nextInt(3503));
                    }
                    ChinookIT.execute(m, "UPDATE invoice SET total = (SELECT sum(unit_price * quantity) FROM invoice_line WHERE invoice_id = ?) WHERE invoice_id = ?",
                            invoice, invoice);
                    m.commit();
                    ChinookIT.execute(m, "UPDATE track SET unit_price = unit_price + 0.01, name = name || ' ∞' WHERE track_id = ?", 1 + random.nextInt(3503));
                    ChinookIT.execute(m, "DELETE FROM playlist_track WHERE playlist_id = 1 AND track_id = (SELECT min(track_id) FROM playlist_track WHERE playlist_id = 1)");
                    ChinookIT.execute(m, "UPDATE employee SET title = ? WHERE employee_id = ?", "Title " + invoice, 1 + random.nextInt(8));
                    m.commit();
                }
                // a deleted invoice takes its lines first (MariaDB refuses a parent row while children refer to it)
                ChinookIT.execute(m, "DELETE FROM invoice_line WHERE invoice_id = 1000");
                ChinookIT.execute(m, "DELETE FROM invoice WHERE invoice_id = 1000");
                m.commit();
            }
            awaitEqual(h, h.monolithDb, "ChinookService", columns, Duration.ofSeconds(90));
            assertThat(mariadbRows("ChinookService", "SELECT count(*) FROM Invoice WHERE BillingCity = 'Oslo' AND InvoiceId >= 1000"))
                    .containsExactly(List.of("29"));
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());

            h.stopStrangler();
            Path config = h.writeConfigText(yaml + "validator: {recheckAfter: 200ms}\n");
            assertValidates(config, "consistent");
            server.execute("ChinookService", "DELETE FROM InvoiceLine WHERE InvoiceLineId = 1",
                    "UPDATE Track SET Name = 'drifted', UnitPrice = 1.5 WHERE TrackId = 7",
                    "UPDATE Invoice SET InvoiceDate = InvoiceDate + INTERVAL 1 SECOND WHERE InvoiceId = 5",
                    "INSERT INTO Genre (GenreId, Name) VALUES (1000, 'only in the service')");
            assertDrift(config, Map.of("svc/ChinookService.InvoiceLine", "1 missing", "svc/ChinookService.Track", "1 different [Name, UnitPrice]",
                    "svc/ChinookService.Invoice", "1 different [InvoiceDate]", "svc/ChinookService.Genre", "1 extra"));
        }
    }

    /** The columns (name, MariaDB data type) of every Chinook table in a MariaDB database. */
    private static Map<String, List<String[]>> columnsOf(String database) throws SQLException {
        Map<String, List<String[]>> columns = new LinkedHashMap<>();
        try (Connection c = server.connect(database)) {
            for (String table : TABLES.keySet()) {
                List<String[]> cols = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT column_name, data_type FROM information_schema.columns "
                        + "WHERE table_schema = ? AND table_name = ? AND column_name <> 'strangler_version' ORDER BY ordinal_position")) {
                    ps.setString(1, database);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            cols.add(new String[] {rs.getString(1), rs.getString(2)});
                        }
                    }
                }
                columns.put(table, cols);
            }
        }
        return columns;
    }

    /** {@code strangler validate} exits 0 and says every table is consistent. */
    private static void assertValidates(Path config, String expected) {
        CliResult result = runCli("validate", "-c", config.toString());
        assertThat(result.exitCode()).as(result.stdout() + result.stderr()).isZero();
        assertThat(result.stdout()).contains(expected).doesNotContain("not validated");
        assertThat(result.stderr()).doesNotContain("not validated");
    }

    /** {@code strangler validate --json} exits 1 and finds exactly the given drift per table (every other table consistent). */
    private static void assertDrift(Path config, Map<String, String> expected) throws Exception {
        CliResult result = runCli("validate", "-c", config.toString(), "--json");
        assertThat(result.exitCode()).as(result.stderr()).isEqualTo(Main.EXIT_FAILED);
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(result.stdout());
        Map<String, String> found = new java.util.TreeMap<>();
        for (com.fasterxml.jackson.databind.JsonNode table : json.get("tables")) {
            long missing = table.get("missing").asLong();
            long extra = table.get("extra").asLong();
            long different = table.get("different").asLong();
            if (missing + extra + different == 0) {
                continue;
            }
            StringBuilder what = new StringBuilder();
            if (missing > 0) {
                what.append(missing).append(" missing");
            }
            if (extra > 0) {
                what.append(extra).append(" extra");
            }
            if (different > 0) {
                List<String> columns = new ArrayList<>();
                table.get("sample").forEach(d -> d.path("columns").forEach(c -> columns.add(c.asText())));
                what.append(different).append(" different ").append(columns.stream().sorted().toList().toString());
            }
            found.put(table.get("service").asText() + "/" + table.get("table").asText(), what.toString());
        }
        assertThat(found).isEqualTo(new java.util.TreeMap<>(expected));
    }

    /** Every row of every table, as text in column order, equal in the PostgreSQL and the MariaDB database. */
    private static void awaitEqual(StranglerHarness h, String postgresDb, String database, Map<String, List<String[]>> columns, Duration timeout) {
        for (Map.Entry<String, List<String[]>> table : columns.entrySet()) {
            List<String[]> cols = table.getValue();
            String mariadbQuery = "SELECT " + String.join(", ", cols.stream().map(c -> c[1].equals("datetime")
                    ? "DATE_FORMAT(`" + c[0] + "`, '%Y-%m-%d %H:%i:%s')" : "CAST(`" + c[0] + "` AS CHAR)").toList())
                    + " FROM `" + table.getKey() + "` ORDER BY " + String.join(", ", cols.stream().map(c -> "`" + c[0] + "`").toList());
            String postgresQuery = "SELECT " + String.join(", ", cols.stream().map(c -> c[1].equals("datetime")
                    ? "to_char(" + snake(c[0]) + ", 'YYYY-MM-DD HH24:MI:SS')" : snake(c[0]) + "::text").toList())
                    // t.: a bare name would order by the output column (the value as text)
                    + " FROM " + TABLES.get(table.getKey()) + " t ORDER BY " + String.join(", ", cols.stream().map(c -> "t." + snake(c[0])).toList());
            Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() ->
                    assertThat(h.rows(postgresDb, postgresQuery)).as(table.getKey()).containsExactlyElementsOf(mariadbRows(database, mariadbQuery)));
        }
    }

    private static List<List<String>> mariadbRows(String database, String query) throws SQLException {
        try (Connection c = server.connect(database)) {
            return StranglerHarness.rows(c, query);
        }
    }
}
