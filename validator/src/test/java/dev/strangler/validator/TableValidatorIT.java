package dev.strangler.validator;

import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.RowFilter;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;
import dev.strangler.sandbox.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The validator on two real PostgreSQL databases: every kind of drift found with its key and class. */
class TableValidatorIT {

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static EmbeddedPostgres postgres;

    @BeforeAll
    static void start() {
        postgres = EmbeddedPostgres.start();
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    /** A monolith database and a service database with the same DDL. */
    private record Pair(String monolith, String service) {
    }

    private static Pair pair(String... ddl) {
        int n = COUNTER.incrementAndGet();
        Pair p = new Pair("vmono" + n, "vsvc" + n);
        postgres.createDatabase(p.monolith());
        postgres.createDatabase(p.service());
        postgres.execute(p.monolith(), ddl);
        postgres.execute(p.service(), ddl);
        return p;
    }

    private static void both(Pair p, String... sql) {
        postgres.execute(p.monolith(), sql);
        postgres.execute(p.service(), sql);
    }

    private static TableReport validate(Pair p, TableRoute route, int segmentRows) throws SQLException {
        return validate(p, route, segmentRows, TableValidator.Progress.NONE);
    }

    private static TableReport validate(Pair p, TableRoute route, int segmentRows, TableValidator.Progress progress) throws SQLException {
        try (Connection m = postgres.connect(p.monolith()); Connection s = postgres.connect(p.service())) {
            ValidatorConnections.prepare(m);
            ValidatorConnections.prepare(s);
            TableSchema source = new PostgresCatalog(m).table(route.from()).orElseThrow();
            TableSchema target = new PostgresCatalog(s).table(route.to()).orElseThrow();
            TablePlan plan = TablePlan.of("svc", route, source, target);
            return new TableValidator(segmentRows, 64, Duration.ofMillis(300), 100, Clock.systemUTC())
                    .validate(plan, m, s, progress);
        }
    }

    private static TableRoute route(String table) {
        TableId id = TableId.parse(table);
        return new TableRoute("test", id, id, Map.of(), Set.of(), Optional.empty());
    }

    private static final String ACCOUNTS = "CREATE TABLE accounts (id bigint PRIMARY KEY, name text, balance numeric, at timestamptz, tags text[])";

    @Test
    void identicalTablesAreConsistent() throws Exception {
        Pair p = pair(ACCOUNTS);
        both(p, "INSERT INTO accounts SELECT g, 'name ' || g, g / 7.0, timestamptz '2024-01-01' + g * interval '1 second', ARRAY['a', g::text] "
                + "FROM generate_series(1, 20000) g");
        TableReport report = validate(p, route("public.accounts"), 1000);
        assertThat(report.consistent()).isTrue();
        assertThat(report.sourceRows()).isEqualTo(20_000);
        assertThat(report.targetRows()).isEqualTo(20_000);
        assertThat(report.segments()).isEqualTo(21);
        assertThat(report.segmentsSplit()).isZero();
        assertThat(report.matchingRatio()).isEqualTo(1.0);
    }

    @Test
    void everyKindOfDriftIsFoundWithItsKeyAndClass() throws Exception {
        Pair p = pair(ACCOUNTS);
        both(p, "INSERT INTO accounts SELECT g, 'name ' || g, 1.50, timestamptz '2024-01-01 10:00:00.123456+00', ARRAY['a'] "
                + "FROM generate_series(1, 50000) g");
        postgres.execute(p.service(),
                "DELETE FROM accounts WHERE id = 101",                                   // missing
                "INSERT INTO accounts VALUES (60001, 'ghost', 0, now(), NULL)",          // extra
                "UPDATE accounts SET name = 'changed' WHERE id = 20202",                 // one column
                "UPDATE accounts SET name = '' WHERE id = 30303",                        // NULL vs '' (below)
                "UPDATE accounts SET balance = 1.5 WHERE id = 40404",                    // numeric scale
                "UPDATE accounts SET at = timestamptz '2024-01-01 10:00:00.123+00' WHERE id = 45454",  // timestamp precision
                "UPDATE accounts SET name = 'cafe' || chr(769) WHERE id = 49999");      // decomposed é
        postgres.execute(p.monolith(), "UPDATE accounts SET name = NULL WHERE id = 30303",
                "UPDATE accounts SET name = 'caf' || chr(233) WHERE id = 49999");       // composed é
        TableReport report = validate(p, route("public.accounts"), 5000);
        assertThat(report.consistent()).isFalse();
        assertThat(report.missing()).isEqualTo(1);
        assertThat(report.extra()).isEqualTo(1);
        assertThat(report.different()).isEqualTo(5);
        assertThat(report.sample()).extracting(Drift::toString).containsExactlyInAnyOrder(
                "missing {id=101}", "extra {id=60001}", "different {id=20202} [name]", "different {id=30303} [name]",
                "different {id=40404} [balance]", "different {id=45454} [at]", "different {id=49999} [name]");
        assertThat(report.inFlight()).isZero();
    }

    @Test
    void compositeAndTextKeysWithRenamedAndDroppedColumnsAndAFilter() throws Exception {
        int n = COUNTER.incrementAndGet();
        Pair p = new Pair("vmono" + n, "vsvc" + n);
        postgres.createDatabase(p.monolith());
        postgres.createDatabase(p.service());
        postgres.execute(p.monolith(), "CREATE TABLE lines (region text, code text, qty int, secret text, status text, PRIMARY KEY (region, code))",
                "INSERT INTO lines SELECT 'r' || (g % 7), 'code-' || g, g, 'x', CASE WHEN g % 10 = 0 THEN 'draft' ELSE 'live' END "
                        + "FROM generate_series(1, 30000) g");
        postgres.execute(p.service(), "CREATE TABLE order_lines (region text, code text, quantity int, status text, strangler_version bigint, "
                        + "PRIMARY KEY (region, code))",
                "INSERT INTO order_lines SELECT 'r' || (g % 7), 'code-' || g, g, 'live' FROM generate_series(1, 30000) g WHERE g % 10 <> 0",
                "UPDATE order_lines SET quantity = -1 WHERE region = 'r3' AND code = 'code-17'",
                "INSERT INTO order_lines VALUES ('r0', 'code-10', 10, 'draft')");  // a row the filter excludes
        TableRoute route = new TableRoute("test", TableId.parse("public.lines"), TableId.parse("public.order_lines"),
                Map.of("qty", "quantity"), Set.of("secret"), Optional.of(RowFilter.compile("status <> 'draft'")));
        TableReport report = validate(p, route, 2000);
        assertThat(report.sourceRows()).isEqualTo(27_000);
        assertThat(report.sample()).extracting(Drift::toString).containsExactlyInAnyOrder(
                "different {region=r3, code=code-17} [quantity]", "extra {region=r0, code=code-10}");
    }

    @Test
    void aChangeStillOnItsWayIsNotDrift() throws Exception {
        Pair p = pair(ACCOUNTS);
        both(p, "INSERT INTO accounts SELECT g, 'name ' || g, 1, timestamptz '2024-05-01 12:00+00', NULL FROM generate_series(1, 5000) g");
        postgres.execute(p.monolith(), "UPDATE accounts SET name = 'new' WHERE id = 77");
        // "replication" of that change reaches the service while the pass runs: after the first segment
        // (ids 1..1000) has been compared and before the recheck
        AtomicInteger segments = new AtomicInteger();
        TableReport report = validate(p, route("public.accounts"), 1000, (checked, estimate) -> {
            if (segments.incrementAndGet() == 2) {
                postgres.execute(p.service(), "UPDATE accounts SET name = 'new' WHERE id = 77");
            }
        });
        assertThat(report.consistent()).isTrue();
        assertThat(report.inFlight()).isEqualTo(1);
    }

    @Test
    void emptyTablesAndAnEmptyServiceTable() throws Exception {
        Pair p = pair(ACCOUNTS);
        assertThat(validate(p, route("public.accounts"), 1000).consistent()).isTrue();
        postgres.execute(p.monolith(), "INSERT INTO accounts SELECT g, 'n', 1, now(), NULL FROM generate_series(1, 3000) g");
        TableReport report = validate(p, route("public.accounts"), 1000);
        assertThat(report.missing()).isEqualTo(3000);
        assertThat(report.sample()).hasSize(100);
        assertThat(report.matchingRatio()).isZero();
    }
}
