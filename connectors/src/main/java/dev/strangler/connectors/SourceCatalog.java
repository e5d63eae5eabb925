package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/** The tables of a monolith, as the start-up checks and the writer need them, whatever the database. */
public interface SourceCatalog {

    /** A table's columns (types as a PostgreSQL service database would declare them) and primary key; empty when missing. */
    Optional<TableSchema> table(TableId id) throws SQLException;

    /** Every base table. */
    List<TableId> tables() throws SQLException;
}
