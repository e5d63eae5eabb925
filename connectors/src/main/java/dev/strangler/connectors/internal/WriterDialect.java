package dev.strangler.connectors.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.connectors.ColumnSchema;
import dev.strangler.connectors.ServiceCatalog;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import dev.strangler.core.config.DatabaseType;
import dev.strangler.core.config.TableRoute;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;

/**
 * Everything the writer says to one kind of service database: its bookkeeping tables (offsets, parked rows),
 * the statements that write rows under the version guard, the DDL it runs, how a JSON value is bound to a
 * column, and how the database's errors are told apart. One implementation per engine
 * ({@link PostgresDialect}, {@link MariaDbDialect}); {@code JdbcApplyWriter} holds no SQL of its own.
 */
public interface WriterDialect {

    /** The column each target row keeps its source version in; a write never replaces a newer version. */
    String VERSION_COLUMN = TableRoute.VERSION_COLUMN;
    String OFFSETS_TABLE = "strangler_offsets";
    /** Rows waiting for a parent row (foreign key) or for a paused table, kept in the target's own transactions like the offsets. */
    String PARKED_TABLE = "strangler_parked";

    static WriterDialect of(DatabaseType type) {
        return switch (type) {
            case POSTGRES -> PostgresDialect.INSTANCE;
            case MARIADB, MYSQL -> MariaDbDialect.INSTANCE;
        };
    }

    /** How a write treats the target's {@link #VERSION_COLUMN}. */
    enum Guard {
        /** write only over an older version, and store the new one (every service table) */
        VERSIONED,
        /** write whatever version is stored, and store the new one (conflict decisions) */
        FORCED,
        /** the table has no version column (the monolith, written back by two-way sync) */
        UNVERSIONED
    }

    /** Connection properties beyond user and password. */
    void configure(Properties connection, String applicationName);

    /** Session settings the writer relies on, run once per connection. */
    void prepareSession(Connection c) throws SQLException;

    ServiceCatalog catalog(Connection c);

    /**
     * Whether DDL joins the writer's transaction (PostgreSQL). When it does not (MariaDB commits implicitly
     * before DDL), the writer rolls its transaction back, runs the DDL alone and reads again from its stored offsets.
     */
    boolean transactionalDdl();

    String quote(String identifier);

    String qualified(TableId table);

    String createOffsetsTable();

    /** Parameters: writer, topic. Columns: partition, next offset. */
    String readOffsets();

    /** Parameters: writer, topic, partition, next offset. */
    String upsertOffset();

    String createParkedTable();

    /** Parks a row, or replaces a parked row of the same key with a newer version. Parameters: writer, key, table, version, reason, record, topic, partition, offset. */
    String park();

    /** Parameters: writer, key. */
    String unpark();

    /** The parked record of a writer's key (parameters: writer, row key). */
    default String parkedRecord() {
        return "SELECT record FROM " + PARKED_TABLE + " WHERE writer = ? AND row_key = ?";
    }

    /** Keys and versions of every parked row of a writer. Parameters: writer. */
    String parkedIndex();

    /**
     * The next page of a writer's parked rows of some tables after a cursor, parents first. Parameters: park
     * timeout (seconds), the tables in foreign-key order (a list, {@link #bindTextList}), writer, cursor position,
     * cursor seq, the tables to retry (a list), page size. Columns: key, record, topic, partition, offset, reason,
     * expired, position, seq.
     */
    String nextParked();

    /** Binds a list of names as one parameter of {@link #nextParked()}. */
    void bindTextList(Connection c, PreparedStatement ps, int index, String[] values) throws SQLException;

    String addVersionColumn(TableId table);

    /** The statements that create the target table for a route from the source table: mapped names, types and key. */
    List<String> createTable(TableRoute route, TableSchema source);

    /** Adds a column the source table got; {@code sourceType} as the monolith's catalog gives it (PostgreSQL terms). */
    String addColumn(TableId table, String column, String sourceType);

    /** Widens a column to the source's wider type. */
    String widenColumn(TableId table, String column, String sourceType);

    String dropColumn(TableId table, String column);

    /** Insert, or update (when the guard lets it). Parameters: columns..., version (not UNVERSIONED). */
    String upsert(TableId table, List<String> columns, List<String> key, Guard guard);

    /** Update of the given columns only (when the guard lets it). Parameters: columns..., version (not UNVERSIONED), key..., version (VERSIONED only). */
    String update(TableId table, List<String> columns, List<String> key, Guard guard);

    /** Delete (when the guard lets it). Parameters: key..., version (VERSIONED only). */
    String delete(TableId table, List<String> key, Guard guard);

    /** Every row of a table, for a source TRUNCATE: a DELETE, which (unlike TRUNCATE) stays in the transaction. */
    default String deleteAll(TableId table) {
        return "DELETE FROM " + qualified(table);
    }

    /** Binds one JSON value for a column of the given type (null column: unknown, bound as text). */
    void bind(PreparedStatement ps, int index, JsonNode value, ColumnSchema column) throws SQLException;

    /** Whether a failure is worth retrying on a new connection (connection loss, deadlock, resources). */
    boolean isTransient(SQLException e);

    /** A foreign-key violation: a child row before its parent, or a parent deleted before its children. */
    boolean isForeignKeyViolation(SQLException e);

    /**
     * A rejection a schema change of the source may explain: an unknown column, a value too long or out of range,
     * a NOT NULL column without a value.
     */
    boolean isSchemaMismatch(SQLException e);
}
