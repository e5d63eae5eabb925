package dev.strangler.connectors;

import dev.strangler.core.Spelling;
import dev.strangler.core.Strings;
import dev.strangler.core.TableId;
import dev.strangler.core.config.ConfigProblem;
import dev.strangler.core.config.DatabaseSettings;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks a loaded config against the live databases before anything starts: the monolith can be
 * captured from (logical decoding, replication privilege), every mapped table and column exists and
 * has a primary key, every service database can be reached. Problems come in the same form as the
 * config file's, with the path of the field to fix, and all of them at once.
 */
public final class StartupChecks {

    /** The outcome: problems (empty when all is well) and the schemas of the monolith tables read on the way. */
    public record Result(List<ConfigProblem> problems, Map<TableId, TableSchema> sourceSchemas) {
    }

    private StartupChecks() {
    }

    public static Result run(StranglerConfig config) {
        List<ConfigProblem> problems = new ArrayList<>();
        Map<TableId, TableSchema> schemas = new LinkedHashMap<>();
        try (Connection monolith = connect(config.monolith())) {
            boolean mariadb = config.monolith().type().binlog();
            if (mariadb) {
                checkBinlog(monolith, config.monolith().type(), problems);
            } else {
                checkCapturePrerequisites(monolith, config.monolith(), "monolith", problems);
            }
            SourceCatalog catalog = mariadb ? new MariaDbCatalog(monolith) : new PostgresCatalog(monolith);
            List<String> known = catalog.tables().stream().map(TableId::toString).toList();
            for (ServiceSettings service : config.serviceList()) {
                for (TableRoute route : service.tables()) {
                    checkRoute(catalog, known, route, problems).ifPresent(s -> schemas.put(s.id(), s));
                }
            }
        } catch (SQLException e) {
            problems.add(new ConfigProblem("monolith.url", "cannot connect to the monolith at " + config.monolith().url()
                    + " as " + config.monolith().user() + ": " + Strings.firstLine(e.getMessage())));
        }
        for (ServiceSettings service : config.serviceList()) {
            try (Connection target = connect(service.database())) {
                if (service.tables().stream().anyMatch(TableRoute::twoWay)) {
                    // two-way: the service database is captured too
                    checkCapturePrerequisites(target, service.database(), "services." + service.name(), problems);
                }
                if (!service.createTables()) {
                    SourceCatalog catalog = dev.strangler.connectors.internal.WriterDialect.of(service.database().type()).catalog(target);
                    for (TableRoute route : service.tables()) {
                        if (catalog.table(route.to()).isEmpty()) {
                            problems.add(new ConfigProblem(route.path() + ".to", "table " + route.to() + " does not exist in service "
                                    + service.name() + "; create it, or set services." + service.name() + ".createTables: true"));
                        }
                    }
                }
            } catch (SQLException e) {
                problems.add(new ConfigProblem("services." + service.name() + ".url", "cannot connect to service database "
                        + service.database().url() + " as " + service.database().user() + ": " + Strings.firstLine(e.getMessage())));
            }
        }
        return new Result(problems, schemas);
    }

    /**
     * A MariaDB or MySQL monolith is captured from its binary log: on, row-based, with full row images; MySQL also
     * with GTIDs (a change's version comes from its transaction's GTID).
     */
    private static void checkBinlog(Connection c, dev.strangler.core.config.DatabaseType type, List<ConfigProblem> problems) throws SQLException {
        if (type == dev.strangler.core.config.DatabaseType.MYSQL) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@gtid_mode")) {
                rs.next();
                if (!"ON".equalsIgnoreCase(rs.getString(1))) {
                    problems.add(new ConfigProblem("monolith", "gtid_mode is " + rs.getString(1) + ", capture needs ON (a change's version "
                            + "comes from its transaction's GTID). Fix: start MySQL with gtid_mode=ON and enforce_gtid_consistency=ON"));
                }
            }
        }
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")) {
            rs.next();
            if (!"1".equals(rs.getString(1)) && !"ON".equalsIgnoreCase(rs.getString(1))) {
                problems.add(new ConfigProblem("monolith", "the binary log is off; capture reads it. Fix: start the server with "
                        + "log_bin=mysql-bin, binlog_format=ROW, binlog_row_image=FULL and a server_id"));
            }
            if (!"ROW".equalsIgnoreCase(rs.getString(2))) {
                problems.add(new ConfigProblem("monolith", "binlog_format is " + rs.getString(2) + ", capture needs ROW. Fix: "
                        + "SET GLOBAL binlog_format = 'ROW' (and in the server's configuration)"));
            }
            if (!"FULL".equalsIgnoreCase(rs.getString(3))) {
                problems.add(new ConfigProblem("monolith", "binlog_row_image is " + rs.getString(3) + ", capture needs FULL. Fix: "
                        + "SET GLOBAL binlog_row_image = 'FULL' (and in the server's configuration)"));
            }
        }
    }

    private static void checkCapturePrerequisites(Connection c, DatabaseSettings database, String path, List<ConfigProblem> problems)
            throws SQLException {
        String what = path.equals("monolith") ? "capture" : "two-way sync captures this service database and";
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT current_setting('wal_level')")) {
                rs.next();
                String level = rs.getString(1);
                if (!"logical".equals(level)) {
                    problems.add(new ConfigProblem(path, "wal_level is '" + level + "', " + what + " needs 'logical'. Fix: "
                            + "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL"));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")) {
                if (rs.next() && !rs.getBoolean(1)) {
                    problems.add(new ConfigProblem(path + ".user", "user " + database.user() + " may not replicate. Fix: ALTER ROLE "
                            + database.user() + " WITH REPLICATION;"));
                }
            }
        }
    }

    private static Optional<TableSchema> checkRoute(SourceCatalog catalog, List<String> known, TableRoute route,
                                                    List<ConfigProblem> problems) throws SQLException {
        Optional<TableSchema> found = catalog.table(route.from());
        if (found.isEmpty()) {
            problems.add(new ConfigProblem(route.path() + ".from", "table " + route.from() + " does not exist in the monolith"
                    + Spelling.didYouMean(route.from().toString(), known)));
            return Optional.empty();
        }
        TableSchema table = found.get();
        List<String> columns = table.columnNames();
        if (!route.key().isEmpty()) {
            for (String column : route.key()) {
                if (!columns.contains(column)) {
                    problems.add(new ConfigProblem(route.path() + ".key", "column " + column + " does not exist in " + route.from()
                            + Spelling.didYouMean(column, columns)));
                }
            }
            if (table.primaryKey().isEmpty() && catalog instanceof PostgresCatalog pg && !replicaIdentityFull(pg, route.from())) {
                problems.add(new ConfigProblem(route.path() + ".key", "table " + route.from() + " has no primary key, so updates and "
                        + "deletes carry the old key values only with REPLICA IDENTITY FULL. Fix: ALTER TABLE " + route.from()
                        + " REPLICA IDENTITY FULL;"));
            }
            table = table.withPrimaryKey(route.key());
        } else if (table.primaryKey().isEmpty()) {
            problems.add(new ConfigProblem(route.path() + ".from", "table " + route.from() + " has no primary key; rows are matched by "
                    + "key. Add one (ALTER TABLE " + route.from() + " ADD PRIMARY KEY (...)), or name the columns that identify a row: "
                    + "key: [col, ...] on this table"));
        }
        Set<String> mentioned = new TreeSet<>(route.renames().keySet());
        mentioned.addAll(route.dropped());
        for (String column : mentioned) {
            if (!columns.contains(column)) {
                problems.add(new ConfigProblem(route.path() + ".columns." + column, "column " + column + " does not exist in "
                        + route.from() + Spelling.didYouMean(column, columns)));
            }
        }
        for (String keyColumn : table.primaryKey()) {
            if (route.dropped().contains(keyColumn)) {
                problems.add(new ConfigProblem(route.path() + ".columns." + keyColumn, "is part of the primary key of "
                        + route.from() + " and cannot be dropped; rename it instead"));
            }
        }
        route.where().ifPresent(filter -> {
            for (String column : filter.columns()) {
                if (!columns.contains(column)) {
                    problems.add(new ConfigProblem(route.path() + ".where", "reads column " + column + ", which " + route.from()
                            + " does not have" + Spelling.didYouMean(column, columns)));
                }
            }
        });
        return Optional.of(table);
    }

    private static boolean replicaIdentityFull(PostgresCatalog catalog, TableId table) throws SQLException {
        return catalog.replicaIdentity(table) == 'f';
    }

    /** A plain JDBC connection to a configured database (10 s connect timeout), for checks and admin commands. */
    public static Connection connect(DatabaseSettings db) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", db.user());
        props.setProperty("password", db.password().reveal());
        // pgjdbc reads connectTimeout in seconds, the MariaDB and MySQL drivers in milliseconds
        props.setProperty("connectTimeout", db.type().binlog() ? "10000" : "10");
        return DriverManager.getConnection(db.url(), props);
    }

}
