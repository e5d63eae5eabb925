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
 * @param consistency whether the table's changes are applied with their whole source transaction
 * @param repair      whether the validator service repairs the drift it finds in this table by itself
 * @param key         source columns that identify a row, for a table without a primary key (empty: the primary key)
 * @param direction   whether the service's changes of the table travel back to the monolith too
 * @param onError     what happens to a change of the table that cannot be mapped or written
 * @param onTruncate  what a TRUNCATE of the source table does to the target table
 */
public record TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped,
                         Optional<RowFilter> where, Consistency consistency, Repair repair, java.util.List<String> key,
                         Direction direction, OnError onError, OnTruncate onTruncate, dev.strangler.core.RowTransform transform) {

    public TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped,
                      Optional<RowFilter> where, Consistency consistency, Repair repair, java.util.List<String> key,
                      Direction direction, OnError onError, OnTruncate onTruncate) {
        this(path, from, to, renames, dropped, where, consistency, repair, key, direction, onError, onTruncate,
                dev.strangler.core.RowTransform.NONE);
    }

    /** What a TRUNCATE of the source table does. */
    public enum OnTruncate {
        /** every row of the target table is deleted, in order with the table's other changes (the default) */
        CARRY("carry"),
        /** the target keeps its rows; the validator then reports them as extra (drift, on purpose) */
        IGNORE("ignore"),
        /** the sync engine stops, naming the table; after deciding, change the setting and restart */
        STOP("stop");

        private final String configName;

        OnTruncate(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    public TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped,
                      Optional<RowFilter> where, Consistency consistency, Repair repair, java.util.List<String> key,
                      Direction direction, OnError onError) {
        this(path, from, to, renames, dropped, where, consistency, repair, key, direction, onError, OnTruncate.CARRY);
    }

    /** What happens to a change that cannot be mapped or written (a constraint violation, a value too long). */
    public enum OnError {
        /**
         * it goes to {@code <prefix>.dlq} with the reason and the stream goes on (the default); replay it
         * with {@code strangler dlq replay} once the cause is fixed
         */
        DEAD_LETTER("dead-letter"),
        /** the writer (or the sync engine) stops, saying why; after the fix, a restart processes the change again */
        STOP("stop");

        private final String configName;

        OnError(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    public TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped,
                      Optional<RowFilter> where, Consistency consistency, Repair repair, java.util.List<String> key, Direction direction) {
        this(path, from, to, renames, dropped, where, consistency, repair, key, direction, OnError.DEAD_LETTER);
    }

    /** Which way a table's changes travel. */
    public enum Direction {
        /** monolith → service only (the default) */
        ONE_WAY("one-way"),
        /**
         * monolith → service and service → monolith, with loop prevention and conflict rules
         * (docs/two-way.md)
         */
        TWO_WAY("two-way");

        private final String configName;

        Direction(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /** What the validator service does with drift it finds in the table. */
    public enum Repair {
        /** report it; repair with {@code strangler repair} (the default) */
        OFF("off"),
        /** repair it after each pass, up to {@code validator.autoRepairMaxRows} rows per pass */
        AUTO("auto");

        private final String configName;

        Repair(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /** How a table's changes are grouped when written to the service database. */
    public enum Consistency {
        /**
         * A source transaction is applied as one target transaction, in source commit order: a reader of
         * the service database never sees part of it (the default).
         */
        TRANSACTION("transaction"),
        /**
         * Each change is applied as soon as it arrives, in batches that may split source transactions:
         * more parallelism, for tables without cross-table invariants.
         */
        PER_ROW("per-row");

        private final String configName;

        Consistency(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /** A route with transaction consistency. */
    public TableRoute(String path, TableId from, TableId to, Map<String, String> renames, Set<String> dropped, Optional<RowFilter> where) {
        this(path, from, to, renames, dropped, where, Consistency.TRANSACTION, Repair.OFF, java.util.List.of(), Direction.ONE_WAY);
    }

    public boolean twoWay() {
        return direction == Direction.TWO_WAY;
    }

    /**
     * The same route seen from the service: from the service table to the monolith table, each renamed
     * column back to its monolith name. Dropped columns stay out, so they are never written on the way back.
     */
    public TableRoute inverse() {
        Map<String, String> back = new java.util.LinkedHashMap<>();
        renames.forEach((source, target) -> back.put(target, source));
        return new TableRoute(path, to, from, back, Set.of(VERSION_COLUMN), Optional.empty(), consistency, repair, java.util.List.of(),
                direction, onError, onTruncate, dev.strangler.core.RowTransform.NONE);
    }

    /** The column each service row keeps its source version in; never carried back to the monolith. */
    public static final String VERSION_COLUMN = "strangler_version";

    /** Name of a target column in the source, for a column this route carries. */
    public String sourceColumn(String targetColumn) {
        for (Map.Entry<String, String> rename : renames.entrySet()) {
            if (rename.getValue().equals(targetColumn)) {
                return rename.getKey();
            }
        }
        return targetColumn;
    }

    public TableRoute {
        renames = Map.copyOf(renames);
        dropped = Set.copyOf(dropped);
        key = java.util.List.copyOf(key);
    }

    /** The columns that identify a row: the configured {@code key}, or else the table's primary key. */
    public java.util.List<String> keyOr(java.util.List<String> primaryKey) {
        return key.isEmpty() ? primaryKey : key;
    }

    /** Name of a source column in the target, or empty when the column is dropped. */
    public Optional<String> targetColumn(String sourceColumn) {
        if (dropped.contains(sourceColumn)) {
            return Optional.empty();
        }
        return Optional.of(renames.getOrDefault(sourceColumn, sourceColumn));
    }
}
