package dev.strangler.cli;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One process syncing 200 tables: every table's rows and changes arrive, and the threads and database
 * connections the process uses do not grow with the number of tables (docs/operations.md, "Many tables").
 */
class ManyTablesIT extends SandboxTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(ManyTablesIT.class);
    private static final int TABLES = 200;

    @Test
    void twoHundredTablesSyncWithABoundedNumberOfThreadsAndConnections() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            List<String> ddl = new ArrayList<>();
            StringBuilder config = new StringBuilder();
            StringBuilder union = new StringBuilder();
            for (int i = 1; i <= TABLES; i++) {
                String t = "t%03d".formatted(i);
                ddl.add("CREATE TABLE " + t + " (id int PRIMARY KEY, val text NOT NULL)");
                ddl.add("INSERT INTO " + t + " SELECT g, '" + t + " row ' || g FROM generate_series(1, 5) g");
                config.append("- from: public.").append(t).append('\n');
                union.append(i == 1 ? "" : " UNION ALL ").append("SELECT '").append(t).append("', id, val FROM ").append(t);
            }
            h.givenMonolith(ddl.toArray(String[]::new));
            String all = "SELECT * FROM (" + union + ") u ORDER BY 1, 2";
            Set<Thread> before = Thread.getAllStackTraces().keySet();

            h.startStrangler(config.toString());
            h.awaitServiceMatchesMonolith(all, all, Duration.ofSeconds(180));
            List<String> changes = new ArrayList<>();
            for (int i = 1; i <= TABLES; i += 7) {
                changes.add("UPDATE t%03d SET val = 'changed' WHERE id = 3".formatted(i));
                changes.add("DELETE FROM t%03d WHERE id = 5".formatted(i));
            }
            h.inMonolith(changes.toArray(String[]::new));
            h.awaitServiceMatchesMonolith(all, all, Duration.ofSeconds(60));

            List<Thread> added = Thread.getAllStackTraces().keySet().stream().filter(t -> !before.contains(t)).toList();
            long monolithConnections = h.count(h.monolithDb, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND pid <> pg_backend_pid()");
            long serviceConnections = h.count(h.serviceDb, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND pid <> pg_backend_pid()");
            LOG.info("{} tables: {} threads added, {} monolith connections, {} service connections; threads: {}", TABLES, added.size(),
                    monolithConnections, serviceConnections, added.stream().map(Thread::getName).sorted().toList());
            assertThat(added.size()).as("threads of the process, whatever the number of tables").isLessThan(80);
            assertThat(monolithConnections).as("monolith connections (capture, validator)").isLessThanOrEqualTo(6);
            assertThat(serviceConnections).as("service connections (writer, validator)").isLessThanOrEqualTo(6);
        }
    }
}
