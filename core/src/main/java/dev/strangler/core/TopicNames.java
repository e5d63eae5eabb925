package dev.strangler.core;

/**
 * The names of every Kafka topic Strangler reads or writes, derived from one prefix (DESIGN.md,
 * "Kafka is the bus and the control plane"). No other class builds a topic name.
 */
public final class TopicNames {

    /** Origin name of the monolith in cdc topic names. */
    public static final String MONOLITH_ORIGIN = "monolith";

    private final String prefix;

    public TopicNames(String prefix) {
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    /** Prefix Debezium is given as {@code topic.prefix}: it appends {@code .<schema>.<table>}. */
    public String cdcPrefix(String origin) {
        return prefix + ".cdc." + origin;
    }

    /** {@code <prefix>.cdc.<origin>.<schema>.<table>}: standard Debezium change envelopes, keyed by primary key. */
    public String cdc(String origin, TableId table) {
        return cdcPrefix(origin) + "." + table.schema() + "." + table.table();
    }

    /** Debezium's transaction topic for one origin: BEGIN and END of every source transaction, in commit order. */
    public String transactions(String origin) {
        return cdcPrefix(origin) + ".transaction";
    }

    /** The sync engine's internal topic (one partition) where a transaction's changes meet its END. */
    public String sequencer(String origin) {
        return prefix + ".sequencer." + origin;
    }

    /** {@code <prefix>.apply.<service>}: row images to write into one service database. */
    public String apply(String service) {
        return prefix + ".apply." + service;
    }

    /**
     * The writer target that applies a two-way service's changes to the monolith: its apply topic is
     * {@code <prefix>.apply.monolith.<service>}. (A service name cannot hold a dot, so it never collides.)
     */
    public static String monolithTarget(String service) {
        return MONOLITH_ORIGIN + "." + service;
    }

    /** Debezium's source offsets for one capture origin (compacted). */
    public String captureOffsets(String origin) {
        return prefix + ".capture-offsets." + origin;
    }

    public String rules() {
        return prefix + ".rules";
    }

    public String routes() {
        return prefix + ".routes";
    }

    public String validation() {
        return prefix + ".validation";
    }

    /** {@code <prefix>.conflicts}: every conflict decision, with both row images, the rule and the winner. */
    public String conflicts() {
        return prefix + ".conflicts";
    }

    public String deadLetters() {
        return prefix + ".dlq";
    }

    /** Kafka Streams application id of the sync engine. */
    public String syncApplicationId() {
        return prefix + "-sync-engine";
    }

    /** Name under which a writer stores its offsets in a target's {@code strangler_offsets} table. */
    public String writerName(String service) {
        return prefix + "-writer-" + service;
    }
}
