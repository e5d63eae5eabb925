package dev.strangler.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A conflict rule written in Java, for {@code {"strategy": "custom", "class": "..."}} on the rules topic.
 * The class needs a public no-argument constructor and must be on the classpath of the sync engine
 * (a jar in the distribution's {@code lib/} directory). One instance decides every conflict of the tables
 * its rule covers, from one thread at a time.
 *
 * <p>It must be a pure function of its argument: the same conflict gets the same answer on every replica
 * and after a restart (the sync engine may decide a conflict again after a crash).
 */
public interface CustomConflictRule {

    /**
     * @return the row both databases keep (monolith column names; columns left out keep the value the
     *         later change gave them), or null to delete the row in both
     */
    ObjectNode resolve(Conflict conflict);

    /**
     * Two changes of one row from both origins within the conflict window.
     *
     * @param table    the monolith table
     * @param key      the row's key (monolith column names)
     * @param monolith the monolith's row after its change, or null when it deleted the row
     * @param service  the service's row after its change, or null when it deleted the row
     * @param agreed   the row as both sides last had it before these changes, or null when unknown
     */
    record Conflict(TableId table, ObjectNode key, ObjectNode monolith, long monolithCommitMicros,
                    ObjectNode service, long serviceCommitMicros, ObjectNode agreed) {
    }
}
