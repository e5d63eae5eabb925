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

    default Connection connect(String database) throws SQLException {
        return java.sql.DriverManager.getConnection(jdbcUrl(database), user(), password());
    }

    /** Runs statements one after another, autocommit. */
    default void execute(String database, String... sql) {
        try (Connection c = connect(database); java.sql.Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed in " + type() + " database " + database + ": " + e.getMessage(), e);
        }
    }

    void createDatabase(String name);

    default String version() {
        try (Connection c = connect("mysql"); java.sql.Statement s = c.createStatement(); var rs = s.executeQuery("SELECT version()")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    void close();
}
