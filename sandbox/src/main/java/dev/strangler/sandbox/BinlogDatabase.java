package dev.strangler.sandbox;

import java.sql.Connection;
import java.sql.SQLException;

/** A MariaDB or MySQL server of the sandbox, as tests use either. */
public interface BinlogDatabase extends AutoCloseable {

    /** The {@code type:} of Strangler's configuration for it: {@code mariadb} or {@code mysql}. */
    String type();

    String user();

    String password();

    String jdbcUrl(String database);

    Connection connect(String database) throws SQLException;

    /** Runs statements one after another, autocommit. */
    void execute(String database, String... sql);

    void createDatabase(String name);

    String version();

    @Override
    void close();
}
