package dev.strangler.core.config;

import java.util.List;

/**
 * A service database and the monolith tables it receives.
 *
 * @param createTables create missing target tables from the source's columns, types and key
 */
public record ServiceSettings(String name, DatabaseSettings database, List<TableRoute> tables, boolean createTables) {

    public ServiceSettings {
        tables = List.copyOf(tables);
    }
}
