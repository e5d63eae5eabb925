package dev.strangler.cli;

import dev.strangler.sandbox.EmbeddedMySql;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/** {@link ChinookBinlogIT} with MySQL 8.0 (from Maven Central; skipped, saying why, where it cannot run) as the monolith and as the service. */
class ChinookMySqlIT extends ChinookBinlogIT {

    @BeforeAll
    static void startMySql() {
        Assumptions.assumeTrue(EmbeddedMySql.unavailable().isEmpty(), () -> "no MySQL here: " + EmbeddedMySql.unavailable().orElse(""));
        server = EmbeddedMySql.start();
    }

    /**
     * PostgreSQL → MySQL (90 s here) only with {@code -Dstrangler.it.full=true}: the suite must stay under 15 minutes on
     * two cores, the MySQL service speaks the MariaDB dialect that {@link ChinookMariaDbIT} runs this way, and
     * {@link MySqlCrashIT} writes a MySQL service under kill -9 in every run.
     */
    @Override
    boolean runsServiceDirection() {
        return Boolean.getBoolean("strangler.it.full");
    }
}
