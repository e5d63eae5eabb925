package dev.strangler.cli;

import dev.strangler.sandbox.BinlogDatabase;
import dev.strangler.sandbox.EmbeddedMySql;
import org.junit.jupiter.api.Assumptions;

/** {@link BinlogCrashIT} with a MySQL 8.0 monolith and MySQL service (skipped, saying why, where MySQL cannot run). */
class MySqlCrashIT extends BinlogCrashIT {

    @Override
    BinlogDatabase startServer() {
        Assumptions.assumeTrue(EmbeddedMySql.unavailable().isEmpty(), () -> "no MySQL here: " + EmbeddedMySql.unavailable().orElse(""));
        return EmbeddedMySql.start();
    }
}
