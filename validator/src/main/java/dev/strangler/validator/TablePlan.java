package dev.strangler.validator;

import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the validator compares for one route: the key and the carried columns, each with its name in
 * the monolith and in the service (renames applied, dropped columns left out), and the route's row
 * filter, which selects the monolith rows the service should hold.
 *
 * @param filter the route's {@code where} condition, evaluated by the monolith database
 */
public record TablePlan(String service, TableId source, TableId target, List<Column> key, List<Column> columns, Optional<String> filter) {

    /** A column as the monolith and the service name it, with its SQL type on each side. */
    public record Column(String source, String target, String sourceType, String targetType) {
    }

    public TablePlan {
        key = List.copyOf(key);
        columns = List.copyOf(columns);
    }

    /**
     * The plan for a route from the two tables' definitions.
     *
     * @throws IllegalArgumentException when a key column is dropped or the target lacks a carried column
     */
    public static TablePlan of(String service, TableRoute route, TableSchema source, TableSchema target) {
        List<Column> key = new ArrayList<>();
        for (String column : route.keyOr(source.primaryKey())) {
            String targetName = route.targetColumn(column).orElseThrow(() -> new IllegalArgumentException(
                    "key column " + column + " of " + route.from() + " is dropped; the validator cannot match rows without it"));
            key.add(new Column(column, targetName, source.column(column).orElseThrow().type(),
                    target.column(targetName).orElseThrow(() -> new IllegalArgumentException("key column " + targetName + " is missing in "
                            + service + "'s " + route.to())).type()));
        }
        List<Column> columns = new ArrayList<>();
        for (String column : source.columnNames()) {
            Optional<String> targetName = route.targetColumn(column);
            if (targetName.isEmpty()) {
                continue;
            }
            if (target.column(targetName.get()).isEmpty()) {
                throw new IllegalArgumentException("column " + targetName.get() + " (from " + route.from() + "." + column
                        + ") is missing in " + service + "'s " + route.to());
            }
            columns.add(new Column(column, targetName.get(), source.column(column).orElseThrow().type(),
                    target.column(targetName.get()).orElseThrow().type()));
        }
        return new TablePlan(service, route.from(), route.to(), key, columns, route.where().map(w -> w.text()));
    }

    /**
     * The plan for a route, from the two databases' catalogs.
     *
     * @throws IllegalStateException when either table does not exist
     */
    public static TablePlan read(String service, TableRoute route, java.sql.Connection monolith, java.sql.Connection serviceDb)
            throws java.sql.SQLException {
        TableSchema source = new dev.strangler.connectors.PostgresCatalog(monolith).table(route.from()).orElseThrow(() ->
                new IllegalStateException("monolith table " + route.from() + " does not exist"));
        TableSchema target = new dev.strangler.connectors.PostgresCatalog(serviceDb).table(route.to()).orElseThrow(() ->
                new IllegalStateException("table " + route.to() + " does not exist in service " + service));
        return of(service, route, source, target);
    }

    /** {@code service/target table}, how reports name the table. */
    public String name() {
        return service + "/" + target;
    }
}
