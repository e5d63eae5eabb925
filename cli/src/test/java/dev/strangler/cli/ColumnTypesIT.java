package dev.strangler.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every common PostgreSQL column type through capture, the sync engine and the writer, compared as text
 * between monolith and service: enums, domains, arrays, json/jsonb, uuid, bytea, numeric (huge and NaN),
 * money, dates, times, intervals, network types, tsvector, boolean; large text and bytea (TOAST) kept when
 * an update does not touch them; and a partition created while Strangler runs.
 */
class ColumnTypesIT extends SandboxTestBase {

    private static final String ROWS = "SELECT id, mood::text, yr::text, tags::text, nums::text, j::text, jb::text, u::text, "
            + "md5(b), length(b), n::text, m::text, d::text, t::text, tz::text, ts::text, tstz::text, iv::text, ip::text, net::text, "
            + "mac::text, tsv::text, flag::text, md5(big), length(big) FROM kinds ORDER BY id";
    /** timetz is carried as the same instant at UTC (Debezium's ZonedTime): compared at UTC, and asserted so below. */
    private static final String ROWS_TIMETZ_AT_UTC = ROWS.replace(", tz::text", ", timezone('UTC', tz)::text");

    @Test
    void everyCommonTypeArrivesAsTheMonolithHasIt() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                    "CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155)",
                    "CREATE TABLE kinds (id int PRIMARY KEY, mood mood, yr year, tags text[], nums int[], j json, jb jsonb, u uuid, b bytea, "
                            + "n numeric, m money, d date, t time, tz timetz, ts timestamp, tstz timestamptz, iv interval, ip inet, net cidr, "
                            + "mac macaddr, tsv tsvector, flag boolean, big text)");
            h.inMonolith("INSERT INTO kinds VALUES (1, 'happy', 2006, '{a,\"b c\",NULL}', '{1,2,3}', '{\"k\": [1, 2]}', '{\"z\": 1, \"a\": {\"b\": null}}', "
                    + "gen_random_uuid(), '\\x00ff10', 12345678901234567890.123456789, 12.34, '2024-02-29', '23:59:59.999999', '12:00+05:30', "
                    + "'1999-12-31 23:59:59', '2024-01-01 00:00:00+00', '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24', '10.0.0.0/8', "
                    + "'08:00:2b:01:02:03', to_tsvector('english', 'The quick brown foxes jumped'), true, repeat('x', 300000))",
                    "INSERT INTO kinds (id, n, b) VALUES (2, 'NaN', decode(repeat('ab', 200000), 'hex'))",
                    "INSERT INTO kinds (id) VALUES (3)");
            h.startStrangler("- from: public.kinds");
            h.awaitServiceMatchesMonolith(ROWS_TIMETZ_AT_UTC, ROWS_TIMETZ_AT_UTC, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT tz::text FROM kinds WHERE id = 1")).as("the documented timetz decision")
                    .containsExactly(java.util.List.of("06:30:00+00"));
            h.inMonolith("UPDATE kinds SET flag = false, mood = 'sad' WHERE id = 1",   // big (TOAST) untouched
                    "UPDATE kinds SET n = -0.000000000000000001, b = decode(repeat('cd', 200000), 'hex') WHERE id = 2", // a new TOAST bytea
                    "INSERT INTO kinds (id, tags, iv, m) VALUES (4, '{}', '-1 day', -0.01)",
                    "DELETE FROM kinds WHERE id = 3");
            h.awaitServiceMatchesMonolith(ROWS_TIMETZ_AT_UTC, ROWS_TIMETZ_AT_UTC, Duration.ofSeconds(60));
            assertThat(h.serviceRows("SELECT length(big) FROM kinds WHERE id = 1")).containsExactly(java.util.List.of("300000"));
            assertThat(h.serviceRows("SELECT length(b) FROM kinds WHERE id = 2")).containsExactly(java.util.List.of("200000"));
            // the validator compares every column of every type, timetz at UTC, and finds them equal
            CliResult validate = runCli("validate", "-c", h.writeConfig("- from: public.kinds").toString());
            assertThat(validate.exitCode()).as(validate.stdout() + validate.stderr()).isZero();
        }
    }

    /**
     * Found by this test: with binary.handling.mode=base64, Debezium 3.4 sent an unchanged TOASTed bytea as
     * null (not as its placeholder), which blanked the service's value. With binary.handling.mode=bytes the
     * placeholder arrives and the writer keeps the value.
     */

    @Test
    void anUpdateThatDoesNotTouchAToastedByteaKeepsIt() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE k (id int PRIMARY KEY, n int, b bytea)");
            h.inMonolith("INSERT INTO k VALUES (2, 1, decode(repeat('ab', 200000), 'hex'))");
            h.startStrangler("- from: public.k");
            h.inMonolith("UPDATE k SET n = 5 WHERE id = 2");
            String rows = "SELECT id, n, md5(b) FROM k";
            h.awaitServiceMatchesMonolith(rows, rows, Duration.ofSeconds(60));
        }
    }

    @Test
    void aPartitionCreatedWhileRunningIsCapturedAsItsParentTable() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE events (id int, at date NOT NULL, what text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                    "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
            h.inMonolith("INSERT INTO events VALUES (1, '2025-06-01', 'old')");
            h.startStrangler("- from: public.events");
            String rows = "SELECT id, at, what FROM events ORDER BY id";
            h.awaitServiceMatchesMonolith(rows, rows, Duration.ofSeconds(60));
            h.inMonolith("CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                    "INSERT INTO events VALUES (2, '2026-03-01', 'new partition'), (3, '2025-07-01', 'old partition')",
                    "UPDATE events SET what = 'moved on' WHERE id = 1");
            h.awaitServiceMatchesMonolith(rows, rows, Duration.ofSeconds(60));
        }
    }
}
