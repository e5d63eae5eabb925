package dev.strangler.core.config;

import dev.strangler.core.RowFilter;
import dev.strangler.core.TableId;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One monolith table moved to a service: where it goes and how its rows are reshaped on the way.
 *
 * @param path    where this route is declared in the config file, for messages
 * @param renames source column → target column
 * @param dropped source columns that are not carried
 * @param where   row filter evaluated on each change's row image; rows that fail it are not in the target
 */
public record TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped,
                         Optional<RowFilter> where) {

    public TableRoute {
        renames = Map.copyOf(renames);
        dropped = Set.copyOf(dropped);
    }

    /** Name of a source column in the target, or empty when the column is dropped. */
    public Optional<String> targetColumn(String sourceColumn) {
        if (dropped.contains(sourceColumn)) {
            return Optional.empty();
        }
        return Optional.of(renames.getOrDefault(sourceColumn, sourceColumn));
    }
}
