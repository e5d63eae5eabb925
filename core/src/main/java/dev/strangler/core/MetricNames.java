package dev.strangler.core;

/**
 * Every metric name Strangler exports, declared once. Micrometer turns dots into underscores and
 * adds unit suffixes for Prometheus ({@code strangler.capture.events} → {@code strangler_capture_events_total}).
 * Tags: {@link #TAG_TABLE} (source table, schema.table), {@link #TAG_SERVICE}, {@link #TAG_TARGET_TABLE}.
 */
public final class MetricNames {

    public static final String TAG_TABLE = "table";
    public static final String TAG_SERVICE = "service";
    public static final String TAG_TARGET_TABLE = "target_table";
    public static final String TAG_COMPONENT = "component";
    public static final String TAG_REASON = "reason";

    /** Counter: change events captured from the monolith and published to Kafka, per source table. */
    public static final String CAPTURE_EVENTS = "strangler.capture.events";
    /** Gauge (ms): now minus the source commit time of the last event captured, per source table. */
    public static final String CAPTURE_LAG = "strangler.capture.lag.ms";
    /** Counter: rows the sync engine routed to an apply topic, per service and source table. */
    public static final String SYNC_ROUTED = "strangler.sync.routed";
    /** Rows that broke a table's rule; tags table, rule, action (dead-letter, drop, stop). */
    public static final String SYNC_RULE_VIOLATIONS = "strangler.sync.rule.violations";
    /** 1 while a service table is paused by a source schema change the writer cannot follow; tags service, target_table. */
    public static final String WRITER_TABLE_PAUSED = "strangler.writer.table.paused";
    public static final String TAG_RULE = "rule";
    public static final String TAG_ACTION = "action";
    /** Counter: events the sync engine dropped as already seen (duplicates from a capture restart). */
    public static final String SYNC_DUPLICATES = "strangler.sync.duplicates";
    /** Counter: records sent to the dead-letter topic, per component and reason. */
    public static final String DEAD_LETTERS = "strangler.dead.letters";
    /** Counter: rows committed to a service database, per service and target table. */
    public static final String APPLY_ROWS = "strangler.apply.rows";
    /** Timer: source commit → target commit, per service and target table (histogram). */
    public static final String E2E_LATENCY = "strangler.e2e.latency";
    /** Gauge (ms): end-to-end latency of the last row applied, per service and target table. */
    public static final String E2E_LAG = "strangler.e2e.lag.ms";
    /** Distribution: rows per writer transaction, per service. */
    public static final String WRITER_BATCH_ROWS = "strangler.writer.batch.rows";
    /** Timer: time to write and commit one writer transaction, per service. */
    public static final String WRITER_COMMIT = "strangler.writer.commit";
    /** Gauge: apply-topic records not yet committed by the writer, per service. */
    public static final String WRITER_CONSUMER_LAG = "strangler.writer.consumer.lag";
    /** Counter: source transactions the sync engine completed and emitted, per origin. */
    public static final String SYNC_TRANSACTIONS = "strangler.sync.transactions";
    /** Timer: from the first change of a source transaction to its emission (waiting for all of it). */
    public static final String SYNC_TRANSACTION_WAIT = "strangler.sync.transaction.wait";
    /** Gauge: source transactions waiting for their END or some of their changes. */
    public static final String SYNC_TRANSACTIONS_PENDING = "strangler.sync.transactions.pending";
    /** Counter: transactions reported incomplete after sync.transactionTimeout and applied with what arrived. */
    public static final String SYNC_TRANSACTIONS_INCOMPLETE = "strangler.sync.transactions.incomplete";
    /** Counter: rows parked because a parent row (foreign key) was missing, per service. */
    public static final String WRITER_PARKED = "strangler.writer.parked";
    /** Counter: source schema changes a service table followed (a column added, widened or dropped), per service. */
    public static final String WRITER_SCHEMA_CHANGES = "strangler.writer.schema.changes";
    /** Gauge: rows parked now, per service. */
    public static final String WRITER_PARKED_NOW = "strangler.writer.parked.now";
    /** Of the rows parked now, those waiting for their table (its copy, or a pause), not for a parent row. */
    public static final String WRITER_PARKED_WAITING_FOR_TABLE = "strangler.writer.parked.waiting.for.table";
    /** Gauge: share of rows that matched in the last finished validation pass, per service and target table. */
    public static final String VALIDATION_CONSISTENCY = "strangler.validation.consistency.ratio";
    /** Gauge: rows missing, extra or different in the last finished validation pass. */
    public static final String VALIDATION_DRIFTED_ROWS = "strangler.validation.drifted.rows";
    /** Gauge: seconds since the last finished validation pass. */
    public static final String VALIDATION_LAST_PASS_AGE = "strangler.validation.last.pass.age.seconds";
    /** Counter: rows compared by the validator (its rate is rows checked per second). */
    public static final String VALIDATION_ROWS_CHECKED = "strangler.validation.rows.checked";
    /** Counter: validation passes finished. */
    public static final String VALIDATION_PASSES = "strangler.validation.passes";
    /** Counter: drifted rows the validator service repaired by itself ({@code repair: auto}). */
    public static final String VALIDATION_REPAIRED_ROWS = "strangler.validation.repaired.rows";
    /** Counter: validation passes that failed (a database down, a table missing). */
    public static final String VALIDATION_FAILURES = "strangler.validation.failures";
    /** Counter: source transactions committed to a service database, per service. */
    public static final String WRITER_TRANSACTIONS = "strangler.writer.transactions";
    /** Distribution: rows per source transaction applied, per service. */
    public static final String WRITER_TRANSACTION_ROWS = "strangler.writer.transaction.rows";
    /** Gauge: 1 when a component is running, 0 otherwise, per component. */
    public static final String TAG_ROUTE = "route";
    public static final String TAG_SIDE = "side";
    public static final String TAG_STATUS_CLASS = "status_class";
    public static final String TAG_RESULT = "result";
    public static final String TAG_GATE = "gate";
    /** Counter: requests the router answered, per route, side and status class (2xx..5xx). */
    public static final String ROUTER_REQUESTS = "strangler.router.requests";
    /** Timer: request start to response end through the router, per route and side (histogram, p50/p99). */
    public static final String ROUTER_LATENCY = "strangler.router.latency";
    /** Counter: upstream requests that failed before a response (connect, timeout, reset), per route, side and reason. */
    public static final String ROUTER_UPSTREAM_FAILURES = "strangler.router.upstream.failures";
    /** Gauge: the weight in force, in basis points (0..10000), per route. */
    public static final String ROUTER_WEIGHT = "strangler.router.weight.bp";
    /** Gauge: 1 while a route's ramp is running, 0 otherwise. */
    public static final String ROUTER_RAMP_RUNNING = "strangler.router.ramp.running";
    /** Counter: rollbacks seen (by an operator or a failing gate), per route. */
    public static final String ROUTER_ROLLBACKS = "strangler.router.rollbacks";
    /** Gauge: 1 when a route's gate passes, 0 when it fails, per route and gate. */
    public static final String ROUTER_GATE_PASSING = "strangler.router.gate.passing";
    /** Counter: shadow comparisons, per route and result (match, mismatch, error, skipped). */
    public static final String ROUTER_SHADOW = "strangler.router.shadow";
    /** Counter: routes-topic records that did not take effect, per route and reason (invalid, stale). */
    public static final String ROUTER_STATE_REJECTED = "strangler.router.state.rejected";
    /** Gauge: 1 while the initial copy (snapshot) runs. */
    public static final String SNAPSHOT_RUNNING = "strangler.snapshot.running";
    /** Gauge: tables the initial copy has not finished. */
    public static final String SNAPSHOT_TABLES_REMAINING = "strangler.snapshot.tables.remaining";
    /** Gauge: rows the initial copy has read, per table. */
    public static final String SNAPSHOT_ROWS_SCANNED = "strangler.snapshot.rows.scanned";
    /** Gauge: a table's estimated row count at start (pg_class.reltuples), per table. */
    public static final String SNAPSHOT_ROWS_ESTIMATED = "strangler.snapshot.rows.estimated";
    public static final String COMPONENT_UP = "strangler.component.up";
    public static final String TAG_ORIGIN = "origin";
    public static final String TAG_STRATEGY = "strategy";
    public static final String TAG_WINNER = "winner";
    /** Counter: conflicts decided, per monolith table, strategy and winner (monolith, service, merged). */
    public static final String CONFLICTS = "strangler.conflicts";
    /** Counter: rows of the writer's own transactions dropped instead of being sent back (echoes), per origin. */
    public static final String SYNC_ECHOES_DROPPED = "strangler.sync.echoes.dropped";
    /** Counter: rules-topic records rejected (kept out of effect), per key. */
    public static final String RULES_REJECTED = "strangler.rules.rejected";
    /** Gauge: conflict rules in force (records on the rules topic that took effect). */
    public static final String RULES_IN_FORCE = "strangler.rules.in.force";

    private MetricNames() {
    }
}
