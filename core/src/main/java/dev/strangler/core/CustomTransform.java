package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;

/**
 * A transform written in Java, for what the YAML transforms cannot say: one monolith row becoming several
 * service rows, possibly in other tables (splitting {@code customers} into {@code customers} and
 * {@code addresses}). Declared per table as {@code custom: {class: ..., targets: [...], options: {...}}};
 * the class needs a public no-argument constructor and must be on the sync engine's classpath (a jar in the
 * distribution's {@code lib/}, or {@code STRANGLER_CLASSPATH} for {@code ./strangler}). docs/transforms.md
 * has an example.
 *
 * <p>It must be a pure function of its argument: a change may be transformed again after a crash, and must
 * give the same rows. One instance serves one table, from one thread at a time.
 */
public interface CustomTransform {

    /** Called once, before the first change, with the table's {@code custom.options}. */
    default void configure(Map<String, String> options) {
    }

    /**
     * The service rows for one monolith change. They replace what the table's other settings produced
     * ({@code mapped}): return {@code mapped} among them to keep it.
     *
     * @return rows for the route's table and the tables declared in {@code custom.targets}; empty to carry nothing
     */
    List<Output> apply(Change change);

    /** What happened in the monolith. */
    enum Kind {
        /** a row copied by a snapshot */
        READ,
        INSERT,
        UPDATE,
        DELETE
    }

    /**
     * One monolith change.
     *
     * @param table  the monolith table
     * @param key    the row's key (monolith column names)
     * @param row    the row after the change (monolith column names), or null for a delete
     * @param target the service table of this route
     * @param mapped what the route's renames, drops, derive, cast and mask made of the row (service column names),
     *               or null for a delete or a row the filter does not pass
     */
    record Change(Kind kind, TableId table, ObjectNode key, ObjectNode row, TableId target, ObjectNode mapped) {
    }

    /** A row to write into (or delete from) a service table; the key names the target table's key columns. */
    record Output(TableId table, boolean delete, ObjectNode key, ObjectNode row) {

        public static Output upsert(TableId table, ObjectNode key, ObjectNode row) {
            return new Output(table, false, key, row);
        }

        public static Output delete(TableId table, ObjectNode key) {
            return new Output(table, true, key, null);
        }
    }
}
