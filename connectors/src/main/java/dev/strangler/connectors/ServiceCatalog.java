package dev.strangler.connectors;

import dev.strangler.core.TableId;

import java.sql.SQLException;
import java.util.Collection;
import java.util.List;

/** The tables of a database the writer writes into: their columns and keys, and the foreign keys among them. */
public interface ServiceCatalog extends SourceCatalog {

    /** The foreign keys from any of {@code tables} to any of {@code tables} (self-references included). */
    List<ForeignKey> foreignKeysAmong(Collection<TableId> tables) throws SQLException;
}
