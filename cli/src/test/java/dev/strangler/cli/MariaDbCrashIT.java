package dev.strangler.cli;

import dev.strangler.sandbox.BinlogDatabase;
import dev.strangler.sandbox.EmbeddedMariaDb;

/** {@link BinlogCrashIT} with a MariaDB 11.4 monolith and MariaDB service. */
class MariaDbCrashIT extends BinlogCrashIT {

    @Override
    BinlogDatabase startServer() {
        return EmbeddedMariaDb.start();
    }
}
