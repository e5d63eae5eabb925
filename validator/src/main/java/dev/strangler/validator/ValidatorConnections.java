package dev.strangler.validator;

import dev.strangler.core.config.DatabaseSettings;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Connections set up so that both databases render values the same way: UTC, ISO dates, standard
 * interval style; string parameters sent untyped so that keys bound as text compare as the key's type.
 */
public final class ValidatorConnections {

    private ValidatorConnections() {
    }

    public static Connection open(DatabaseSettings database, String applicationName) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", database.user());
        props.setProperty("password", database.password().reveal());
        if (database.type().binlog()) {
            Connection c = DriverManager.getConnection(database.url(), props);
            c.setAutoCommit(true);
            try (Statement s = c.createStatement()) {
                // TIMESTAMP columns render in UTC, as PostgreSQL's timestamptz does on the other side
                s.execute("SET SESSION time_zone = '+00:00'");
                s.execute("SET SESSION TRANSACTION READ ONLY");
            }
            return c;
        }
        props.setProperty("stringtype", "unspecified");
        props.setProperty("ApplicationName", applicationName);
        Connection c = DriverManager.getConnection(database.url(), props);
        prepare(c);
        return c;
    }

    /** Sets the session so that values render alike on both sides; read-only, autocommit. */
    public static void prepare(Connection c) throws SQLException {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
            s.execute("SET DateStyle = 'ISO, YMD'");
            s.execute("SET IntervalStyle = 'postgres'");
            s.execute("SET extra_float_digits = 1");
            s.execute("SET default_transaction_read_only = on");
        }
    }
}
