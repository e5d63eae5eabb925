package dev.strangler.cli;

import dev.strangler.sandbox.SqlScript;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pagila (a real schema nobody here wrote) with every foreign key in the service database: the
 * initial copy and a mixed workload of multi-table transactions arrive with nothing rejected and
 * nothing left parked, and every row of every table ends equal. The service's tables are listed in
 * alphabetical order, children before parents: the writer takes the order from the foreign keys.
 */
class PagilaForeignKeysIT extends SandboxTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(PagilaForeignKeysIT.class);

    /** Pagila's base tables; payment is partitioned (its changes arrive as payment, whatever the partition). */
    static final List<String> TABLES = List.of("actor", "address", "category", "city", "country", "customer", "film", "film_actor",
            "film_category", "inventory", "language", "payment", "rental", "staff", "store");

    /** {@code ../shared/datasets/<name>} from the project or one of its parents, if this checkout has it. */
    static Path dataset(String name) {
        Path dir = Path.of("").toAbsolutePath();
        for (; dir != null; dir = dir.getParent()) {
            for (Path candidate : List.of(dir.resolve("shared/datasets").resolve(name), dir.resolve("datasets").resolve(name))) {
                if (Files.isDirectory(candidate)) {
                    return candidate;
                }
            }
        }
        Assumptions.abort("dataset " + name + " not found in shared/datasets of this checkout or its parents");
        return null;
    }

    @Test
    void theInitialCopyAndMultiTableTransactionsKeepEveryForeignKey() throws Exception {
        Path pagila = dataset("pagila");
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            try (Connection monolith = postgres.connect(h.monolithDb); Connection service = postgres.connect(h.serviceDb)) {
                SqlScript.run(monolith, pagila.resolve("pagila-schema.sql"));
                SqlScript.run(monolith, pagila.resolve("pagila-data.sql"));
                SqlScript.run(service, pagila.resolve("pagila-schema.sql"));
                // the service keeps every constraint, not the monolith's triggers (they would rewrite last_update)
                dropTriggers(service);
            }
            StringBuilder tables = new StringBuilder();
            TABLES.forEach(t -> tables.append("- public.").append(t).append('\n'));
            h.startStrangler(tables.toString());
            try {
                for (String table : TABLES) {
                    h.awaitServiceMatchesMonolith(rowsOf(table), rowsOf(table), Duration.ofSeconds(60));
                }
            } catch (AssertionError | RuntimeException e) {
                LOG.error("initial copy incomplete; parked rows per table: {}; service row counts: {}",
                        h.serviceRows("SELECT target_table, count(*), min(reason) FROM strangler_parked GROUP BY 1"),
                        TABLES.stream().map(t -> t + "=" + h.count(h.serviceDb, "SELECT count(*) FROM public." + t)).toList());
                for (List<String> parked : h.serviceRows("SELECT row_key, reason, encode(record, 'escape') FROM strangler_parked ORDER BY parked_at LIMIT 3")) {
                    LOG.error("parked: {}", parked);
                }
                throw e;
            }
            LOG.info("initial copy of {} tables matches; parked on the way: {}", TABLES.size(), parkedTotal(h));

            int transactions = workload(h, Duration.ofSeconds(Long.getLong("strangler.it.workloadSeconds", 20)));
            for (String table : TABLES) {
                h.awaitServiceMatchesMonolith(rowsOf(table), rowsOf(table), Duration.ofSeconds(90));
            }
            assertThat(transactions).isGreaterThan(100);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM strangler_parked")).as("rows left parked").isZero();
            assertThat(h.metrics.find("strangler.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM public.rental")).isGreaterThan(16_000);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM public.payment")).as("payments of the initial copy and the workload")
                    .isGreaterThan(16_000);
            assertThat(h.metrics.get("strangler.writer.transactions").counter().count()).isGreaterThan(100);
        }
    }

    private static double parkedTotal(StranglerHarness h) {
        return h.metrics.find("strangler.writer.parked").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /** Every column but the writer's version, as JSON text, in a stable order. */
    static String rowsOf(String table) {
        return "SELECT (to_jsonb(t) - 'strangler_version')::text AS r FROM public." + table + " t ORDER BY r";
    }

    static void dropTriggers(Connection c) throws SQLException {
        List<String> drops = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT tgname, tgrelid::regclass FROM pg_trigger WHERE NOT tgisinternal")) {
            while (rs.next()) {
                drops.add("DROP TRIGGER " + rs.getString(1) + " ON " + rs.getString(2));
            }
        }
        try (Statement s = c.createStatement()) {
            for (String drop : drops) {
                s.execute(drop);
            }
        }
    }

    /**
     * Multi-table transactions that respect Pagila's keys: a new customer with a new address; a new
     * rental with its payment and the inventory item touched; a rental returned; a film's price changed;
     * a customer created here removed with their payments, rentals and address (children first); a
     * film's cast changed.
     */
    private static int workload(StranglerHarness h, Duration duration) throws SQLException {
        Random random = new Random(7);
        List<int[]> created = new ArrayList<>();  // {customer_id, address_id}
        int transactions = 0;
        long until = System.nanoTime() + duration.toNanos();
        try (Connection c = postgres.connect(h.monolithDb)) {
            c.setAutoCommit(false);
            while (System.nanoTime() < until) {
                int dice = random.nextInt(12);
                if (dice < 3 || created.isEmpty()) {
                    int address = insertReturningId(c, "INSERT INTO public.address (address, district, city_id, phone) "
                            + "VALUES (?, 'Workload', ?, '555') RETURNING address_id", "street " + random.nextInt(1000), 1 + random.nextInt(600));
                    int customer = insertReturningId(c, "INSERT INTO public.customer (store_id, first_name, last_name, email, address_id, active) "
                            + "VALUES (?, 'New', ?, ?, ?, 1) RETURNING customer_id", 1 + random.nextInt(2), "Customer" + random.nextInt(10_000),
                            "new" + random.nextInt(10_000) + "@example.com", address);
                    created.add(new int[]{customer, address});
                } else if (dice < 6) {
                    int[] customer = created.get(random.nextInt(created.size()));
                    int inventory = 1 + random.nextInt(4500);
                    int staff = 1 + random.nextInt(2);
                    int rental = insertReturningId(c, "INSERT INTO public.rental (rental_date, inventory_id, customer_id, staff_id) "
                            + "VALUES (now(), ?, ?, ?) RETURNING rental_id", inventory, customer[0], staff);
                    // payments are partitioned by month of 2022, as Pagila ships them
                    execute(c, "INSERT INTO public.payment (customer_id, staff_id, rental_id, amount, payment_date) "
                            + "VALUES (?, ?, ?, ?, timestamptz '2022-07-01 12:00+00' + make_interval(secs => ?))",
                            customer[0], staff, rental, new java.math.BigDecimal("4.99"), random.nextInt(1_000_000));
                    execute(c, "UPDATE public.inventory SET last_update = now() WHERE inventory_id = ?", inventory);
                } else if (dice < 8) {
                    execute(c, "UPDATE public.rental SET return_date = now() WHERE rental_id = ?", 1 + random.nextInt(16_000));
                } else if (dice < 9) {
                    execute(c, "UPDATE public.film SET rental_rate = rental_rate + 0.01 WHERE film_id = ?", 1 + random.nextInt(1000));
                } else if (dice < 11) {
                    int[] gone = created.remove(random.nextInt(created.size()));
                    execute(c, "DELETE FROM public.payment WHERE customer_id = ?", gone[0]);
                    execute(c, "DELETE FROM public.rental WHERE customer_id = ?", gone[0]);
                    execute(c, "DELETE FROM public.customer WHERE customer_id = ?", gone[0]);
                    execute(c, "DELETE FROM public.address WHERE address_id = ?", gone[1]);
                } else {
                    int film = 1 + random.nextInt(1000);
                    int actor = 1 + random.nextInt(200);
                    execute(c, "DELETE FROM public.film_actor WHERE film_id = ? AND actor_id = ?", film, actor);
                    execute(c, "INSERT INTO public.film_actor (actor_id, film_id) VALUES (?, ?)", actor, film);
                }
                c.commit();
                transactions++;
            }
        }
        return transactions;
    }

    private static int insertReturningId(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void execute(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            ps.executeUpdate();
        }
    }
}
