package dev.strangler.cli;

import dev.strangler.sandbox.SqlScript;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chinook (a real music-store schema nobody here wrote), all 11 tables, PostgreSQL to PostgreSQL: the initial
 * copy, then a mixed workload in the monolith (invoices with lines, price updates, playlist deletes, employee
 * changes) while the service writes its two-way tables (customer, playlist); every row of every table ends equal.
 */
class ChinookIT extends SandboxTestBase {

    static final List<String> TABLES = List.of("album", "artist", "customer", "employee", "genre", "invoice", "invoice_line",
            "media_type", "playlist", "playlist_track", "track");
    private static final List<String> TWO_WAY = List.of("customer", "playlist");

    @Test
    void everyTableOfChinookArrivesAndStaysEqualUnderAMixedTwoWayWorkload() throws Exception {
        Path chinook = PagilaForeignKeysIT.dataset("chinook");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            // the script creates its own database first: the statements after "\c chinook;" go into the monolith
            String script = Files.readString(chinook.resolve("Chinook_PostgreSql.sql"), StandardCharsets.UTF_8);
            Path body = h.workDir.resolve("chinook-body.sql");
            Files.writeString(body, script.substring(script.indexOf("\\c chinook;") + "\\c chinook;".length()));
            try (Connection monolith = postgres.connect(h.monolithDb)) {
                SqlScript.run(monolith, body);
            }
            StringBuilder tables = new StringBuilder();
            for (String t : TABLES) {
                tables.append("- {from: public.").append(t).append(TWO_WAY.contains(t) ? ", direction: two-way" : "").append("}\n");
            }
            h.startStrangler(tables.toString());
            for (String table : TABLES) {
                h.awaitServiceMatchesMonolith(PagilaForeignKeysIT.rowsOf(table), PagilaForeignKeysIT.rowsOf(table), Duration.ofSeconds(90));
            }
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM track")).isEqualTo(3503);
            TwoWaySyncIT.awaitCaptureRunning(h);

            Random random = new Random(7);
            try (Connection monolith = postgres.connect(h.monolithDb); Connection service = postgres.connect(h.serviceDb)) {
                monolith.setAutoCommit(false);
                service.setAutoCommit(false);
                int invoice = 1000;
                int line = 10_000;
                for (int round = 0; round < 150; round++) {
                    invoice++;
                    execute(monolith, "INSERT INTO invoice (invoice_id, customer_id, invoice_date, billing_city, total) VALUES (?, ?, now(), 'Oslo', 0)",
                            invoice, 1 + random.nextInt(59));
                    for (int l = 0; l < 1 + random.nextInt(3); l++) {
                        execute(monolith, "INSERT INTO invoice_line VALUES (?, ?, ?, 0.99, 1)", ++line, invoice, 1 + random.nextInt(3503));
                    }
                    execute(monolith, "UPDATE invoice SET total = (SELECT sum(unit_price * quantity) FROM invoice_line WHERE invoice_id = ?) WHERE invoice_id = ?",
                            invoice, invoice);
                    monolith.commit();
                    execute(monolith, "UPDATE track SET unit_price = unit_price + 0.01 WHERE track_id = ?", 1 + random.nextInt(3503));
                    execute(monolith, "DELETE FROM playlist_track WHERE playlist_id = 1 AND track_id = (SELECT min(track_id) FROM playlist_track WHERE playlist_id = 1)");
                    if (round % 10 == 0) {
                        execute(monolith, "UPDATE employee SET title = ? WHERE employee_id = ?", "Title " + round, 1 + random.nextInt(8));
                    }
                    monolith.commit();
                    // the service writes its own tables: customers change contact data, playlists are made and renamed
                    execute(service, "UPDATE customer SET email = ?, phone = ? WHERE customer_id = ?", "c" + round + "@example.org",
                            "+47 " + round, 1 + random.nextInt(59));
                    if (round % 5 == 0) {
                        execute(service, "INSERT INTO playlist (playlist_id, name) VALUES (?, ?)", 1000 + round, "made in the service " + round);
                    }
                    service.commit();
                }
            }
            for (String table : TABLES) {
                h.awaitServiceMatchesMonolith(PagilaForeignKeysIT.rowsOf(table), PagilaForeignKeysIT.rowsOf(table), Duration.ofSeconds(90));
            }
            assertThat(h.count(h.monolithDb, "SELECT count(*) FROM playlist WHERE name LIKE 'made in the service%'")).isEqualTo(30);
            assertThat(h.count(h.monolithDb, "SELECT count(*) FROM customer WHERE email LIKE '%@example.org'")).isGreaterThan(20);
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
        }
    }

    static void execute(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            ps.executeUpdate();
        }
    }
}
