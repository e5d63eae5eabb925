package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;
import dev.strangler.sandbox.EmbeddedPostgres;
import dev.strangler.validator.TablePlan;
import dev.strangler.validator.TableReport;
import dev.strangler.validator.TableValidator;
import dev.strangler.validator.ValidatorConnections;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

import static dev.strangler.benchmarks.Stats.median;
import static dev.strangler.benchmarks.Stats.seconds;

/**
 * The validator on a pair of tables (monolith and service) in the sandbox's PostgreSQL: a full pass
 * when they are identical and when 1% of the rows drifted, next to a bare {@code count(*)} and a
 * full-table hash scan of the same table measured in the same run.
 */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Validator speed on a table pair: identical, and with 1% of rows drifted; prints one JSON object.")
final class ValidateBenchmark implements Callable<Integer> {

    @Option(names = "--rows", defaultValue = "1000000", description = "Rows in the table pair.")
    int rows;

    @Option(names = "--runs", defaultValue = "3", description = "Runs of each measurement (the median is reported).")
    int runs;

    @Option(names = "--segment-rows", defaultValue = "10000", description = "validator.segmentRows for the passes.")
    int segmentRows;

    @Option(names = "--fetch-rows", defaultValue = "10000", description = "validator.fetchRows for the passes.")
    int fetchRows;

    private final PrintStream progress = System.err;

    private static final String TABLE = "CREATE TABLE items (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL, "
            + "note text, at timestamptz NOT NULL)";
    private static final String FILL = "INSERT INTO items SELECT g, g %% 1000, (g %% 100000) / 100.0, 'note ' || g, "
            + "timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, %d) g";
    private static final String ROW_HASH = "SELECT sum(hashtextextended(quote_nullable(id::text) || ',' || quote_nullable(account::text) || ',' "
            + "|| quote_nullable(amount::text) || ',' || quote_nullable(note::text) || ',' || quote_nullable(at::text), 0)) FROM items";

    @Override
    public Integer call() throws Exception {
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("benchmark", "validate");
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("java", System.getProperty("java.version"));
        result.put("rows", rows);
        result.put("segmentRows", segmentRows);
        result.put("fetchRows", fetchRows);
        try (EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
            postgres.createDatabase("monolith");
            postgres.createDatabase("service");
            for (String db : List.of("monolith", "service")) {
                postgres.execute(db, TABLE, FILL.formatted(rows), "VACUUM ANALYZE items");
            }
            progress.printf("%,d rows in each database%n", rows);
            try (Connection monolith = postgres.connect("monolith"); Connection service = postgres.connect("service")) {
                ValidatorConnections.prepare(monolith);
                ValidatorConnections.prepare(service);
                result.put("countStarSeconds", round3(timed("count(*)", () -> query(monolith, "SELECT count(*) FROM items"))));
                double hashScan = timed("full-table hash scan", () -> query(monolith, ROW_HASH));
                result.put("hashScanSeconds", round3(hashScan));

                TableId id = TableId.parse("public.items");
                TableRoute route = new TableRoute("bench", id, id, Map.of(), Set.of(), Optional.empty());
                TablePlan plan = TablePlan.of("svc", route, new PostgresCatalog(monolith).table(id).orElseThrow(),
                        new PostgresCatalog(service).table(id).orElseThrow());
                // no replication runs here, so drifted keys need no wait before their recheck
                TableValidator validator = new TableValidator(segmentRows, fetchRows, Duration.ZERO, 100, Clock.systemUTC());

                List<TableReport> identical = new ArrayList<>();
                double pass = timed("validator pass, identical", () -> identical.add(validator.validate(plan, monolith, service, TableValidator.Progress.NONE)));
                if (!identical.stream().allMatch(TableReport::consistent)) {
                    throw new IllegalStateException("identical tables reported drift: " + identical.get(0));
                }
                result.put("identicalPassSeconds", round3(pass));
                result.put("identicalPassToHashScan", round3(pass / hashScan));

                int drifted = rows / 100;
                int third = drifted / 3;
                postgres.execute("service",
                        "DELETE FROM items WHERE id % 300 = 7 AND id <= " + (long) third * 300,
                        "UPDATE items SET note = 'drifted' WHERE id % 300 = 107 AND id <= " + (long) third * 300,
                        "INSERT INTO items SELECT " + rows + " + g, 0, 0, 'extra', now() FROM generate_series(1, " + (drifted - 2 * third) + ") g",
                        "VACUUM ANALYZE items");
                List<TableReport> withDrift = new ArrayList<>();
                double driftPass = timed("validator pass, 1% drifted", () -> withDrift.add(validator.validate(plan, monolith, service, TableValidator.Progress.NONE)));
                TableReport last = withDrift.get(withDrift.size() - 1);
                result.put("driftedRows", drifted);
                result.put("driftPassSeconds", round3(driftPass));
                ObjectNode found = result.putObject("found");
                found.put("missing", last.missing());
                found.put("extra", last.extra());
                found.put("different", last.different());
                found.put("segmentsSplit", last.segmentsSplit());
                if (last.drifted() != drifted) {
                    throw new IllegalStateException("expected " + drifted + " drifted rows, found " + last.drifted() + ": " + last);
                }
            }
        }
        System.out.println(result.toPrettyString());
        return 0;
    }

    private interface Work {
        void run() throws Exception;
    }

    /** Median seconds of {@code runs} runs, after one run that is not counted. */
    private double timed(String what, Work work) throws Exception {
        List<Double> times = new ArrayList<>();
        for (int run = 0; run <= runs; run++) {
            long started = System.nanoTime();
            work.run();
            double s = seconds(started);
            if (run > 0) {
                times.add(s);
            }
            progress.printf("%s run %d: %.3f s%s%n", what, run, s, run == 0 ? " (warm-up)" : "");
        }
        return median(times);
    }

    private static void query(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
        }
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
