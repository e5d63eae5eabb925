package dev.strangler.syncengine.internal;

import dev.strangler.connectors.OriginMarkers;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.ChangeEvent;
import dev.strangler.core.DeadLetter;
import dev.strangler.core.DebeziumEnvelope;
import dev.strangler.core.MalformedChangeException;
import dev.strangler.core.RowTransform;
import dev.strangler.core.MetricNames;
import dev.strangler.core.config.TableRoute;
import dev.strangler.syncengine.SyncPlan;
import dev.strangler.syncengine.SyncTopology;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads one cdc record, maps it for every service that receives its table, and forwards each result
 * to that service's apply topic (per-row tables and changes without transaction metadata) or, with
 * its transaction, to the sequencer. A per-row result is dropped when the store shows the key already
 * at this version or newer (a capture restart re-sends what it had not yet checkpointed); the sequencer
 * drops replayed transactions itself. Records that cannot be read or mapped
 * go to the dead-letter topic with the reason.
 */
public final class RouteProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private static final Logger LOG = LoggerFactory.getLogger(RouteProcessor.class);

    private final SyncPlan.Origin plan;
    private final boolean sequencing;
    private final Counter markers;
    private final String sequencer;
    private final MeterRegistry metrics;
    private final Map<String, Map<dev.strangler.core.TableId, Counter>> routed = new ConcurrentHashMap<>();
    private final Counter duplicates;
    private final Counter deadLetters;
    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<String, Long> versions;
    private final String versionStore;

    /**
     * @param sequencer the child that receives the changes of source transactions (the sequencer
     *                  processor itself, or the sink of the sequencer topic)
     */
    public RouteProcessor(SyncPlan.Origin plan, MeterRegistry metrics, String sequencer, String versionStore) {
        this.plan = plan;
        this.versionStore = versionStore;
        this.markers = Counter.builder("strangler.sync.origin.markers").tag(MetricNames.TAG_ORIGIN, plan.name())
                .description("writer transactions recognised by their origin marker").register(metrics);
        this.sequencer = sequencer;
        this.sequencing = plan.usesTransactions();
        this.metrics = metrics;
        this.duplicates = Counter.builder(MetricNames.SYNC_DUPLICATES).description("replayed changes dropped by version").register(metrics);
        this.deadLetters = Counter.builder(MetricNames.DEAD_LETTERS).tag(MetricNames.TAG_COMPONENT, "sync-engine")
                .description("records sent to the dead-letter topic").register(metrics);
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.versions = context.getStateStore(versionStore);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        Optional<ChangeEvent> parsed;
        try {
            parsed = DebeziumEnvelope.parse(record.key(), record.value());
        } catch (MalformedChangeException e) {
            deadLetter(record, null, DeadLetter.Stage.PARSE, DeadLetter.UNKNOWN_VERSION, e.getMessage());
            return;
        }
        if (parsed.isEmpty()) {
            return;
        }
        ChangeEvent change = parsed.get();
        if (plan.capturesMarker() && change.table().equals(OriginMarkers.TABLE)) {
            onMarker(record, change);
            return;
        }
        // Every change of a source transaction goes to the sequencer, even one that yields no row, so
        // that the count its END announces can be met.
        List<SequencedChange.Row> sequenced = change.transaction() != null && sequencing ? new ArrayList<>() : null;
        try {
            route(record, change, sequenced);
        } finally {
            if (sequenced != null) {
                ChangeEvent.TransactionRef tx = change.transaction();
                // the change's source position names it within its transaction: unlike Debezium's total_order,
                // it is the same when a restarted capture sends the change again
                SequencedChange.Position position = new SequencedChange.Position(change.position().version(), tie(change));
                byte[] value = new SequencedChange(tx.id(), position, tx.totalOrder(), change.position().commitTimeMicros(), sequenced,
                        null, 0).toBytes();
                context.forward(new Record<>(tx.id().getBytes(StandardCharsets.UTF_8), value, record.timestamp()), sequencer);
            }
        }
    }

    /**
     * Tells apart the changes of one transaction that share a source position. A TRUNCATE of several tables is
     * one WAL record: its events share the position, the table tells them apart. An UPDATE of a row's primary key
     * is one WAL record too, which the capture sends as a delete of the old key and a create of the new one: the
     * create's "+" puts it after the delete (without it the create was taken for the delete sent again, and the
     * transaction waited for a change that had come). Other changes are alone at their position.
     */
    private static String tie(ChangeEvent change) {
        return switch (change.op()) {
            case TRUNCATE -> change.table().toString();
            case CREATE -> "+";
            default -> "";
        };
    }

    /**
     * The marker row of a writer transaction: it goes to the sequencer as a change of its transaction (it
     * counts toward the END), naming the origin whose rows in the transaction are echoes. Outside a
     * transaction (the snapshot reads the marker table too) it means nothing.
     */
    private void onMarker(Record<byte[], byte[]> record, ChangeEvent change) {
        if (change.transaction() == null || !sequencing || change.after() == null) {
            return;
        }
        markers.increment();
        ChangeEvent.TransactionRef tx = change.transaction();
        var origin = change.after().get(OriginMarkers.ORIGIN_COLUMN);
        var through = change.after().get(OriginMarkers.THROUGH_COLUMN);
        byte[] value = new SequencedChange(tx.id(), new SequencedChange.Position(change.position().version(), ""), tx.totalOrder(),
                change.position().commitTimeMicros(), List.of(), origin == null ? "" : origin.asText(), through == null ? 0 : through.asLong()).toBytes();
        context.forward(new Record<>(tx.id().getBytes(StandardCharsets.UTF_8), value, record.timestamp()), sequencer);
    }

    private void route(Record<byte[], byte[]> record, ChangeEvent change, List<SequencedChange.Row> sequenced) {
        List<SyncPlan.Destination> destinations = plan.destinations(change.table());
        if (destinations.isEmpty()) {
            deadLetter(record, change.table().toString(), DeadLetter.Stage.MAP, change.position().version(), "no target receives table " + change.table() + " from origin "
                    + plan.name() + "; the record's topic is captured but not mapped");
            return;
        }
        for (SyncPlan.Destination destination : destinations) {
            if (change.op() == ChangeEvent.Op.TRUNCATE && destination.mapping().route().onTruncate() == TableRoute.OnTruncate.STOP) {
                throw new IllegalStateException("TRUNCATE of " + change.table() + " in origin " + plan.name() + " (at "
                        + context.recordMetadata().map(m -> m.topic() + "@" + m.offset()).orElse("?") + "): "
                        + destination.mapping().route().path() + ".onTruncate is stop. Decide: onTruncate: carry deletes every row of "
                        + destination.mapping().route().to() + " in " + destination.service() + ", ignore keeps them; then restart");
            }
            List<ApplyRecord> mapped;
            try {
                mapped = destination.mapping().applyAll(change);
            } catch (RowTransform.RuleViolation violation) {
                TableRoute route = destination.mapping().route();
                RowTransform.OnViolation action = route.transform().onViolation();
                Counter.builder(MetricNames.SYNC_RULE_VIOLATIONS).tag(MetricNames.TAG_TABLE, change.table().toString())
                        .tag(MetricNames.TAG_RULE, violation.rule()).tag(MetricNames.TAG_ACTION, action.configName())
                        .description("rows that broke a table's rule").register(metrics).increment();
                String reason = route.path() + ": row " + change.key() + " breaks rule '" + violation.rule() + "'";
                switch (action) {
                    case DROP -> {
                        continue;
                    }
                    case STOP -> throw new IllegalStateException(reason + " (at " + context.recordMetadata().map(m -> m.topic() + "@" + m.offset())
                            .orElse("?") + "; onRuleViolation: stop): fix the row in the monolith, or the rule, and restart");
                    default -> {
                        deadLetter(record, change.table().toString(), DeadLetter.Stage.MAP, change.position().version(), reason);
                        continue;
                    }
                }
            } catch (RuntimeException e) {
                String reason = "mapping " + destination.mapping().route().path() + " failed: " + e.getMessage();
                if (destination.mapping().route().onError() == TableRoute.OnError.STOP) {
                    throw new IllegalStateException(reason + " (at " + context.recordMetadata().map(m -> m.topic() + "@" + m.offset()).orElse("?")
                            + "; on-error: stop): fix the cause and restart; the change is processed again");
                }
                deadLetter(record, change.table().toString(), DeadLetter.Stage.MAP, change.position().version(), reason);
                continue;
            }
            for (ApplyRecord apply : mapped) {
                forward(record, change, sequenced, destination, apply);
            }
        }
    }

    /** Sends one service row on: into the transaction being sequenced, or to the service's apply topic. */
    private void forward(Record<byte[], byte[]> record, ChangeEvent change, List<SequencedChange.Row> sequenced,
                         SyncPlan.Destination destination, ApplyRecord apply) {
        String kafkaKey = apply.kafkaKey();
        boolean wholeTransaction = sequenced != null && destination.mapping().route().consistency() == TableRoute.Consistency.TRANSACTION;
        // Rows of whole transactions skip the version store: the sequencer drops a replayed transaction by
        // its commit position, and the writer never lets an older version overwrite a newer one.
        if (!wholeTransaction) {
            String versionKey = destination.service() + "|" + kafkaKey;
            Long seen = versions.get(versionKey);
            if (seen != null && seen >= apply.version()) {
                duplicates.increment();
                return;
            }
            versions.put(versionKey, apply.version());
        }
        if (wholeTransaction) {
            sequenced.add(new SequencedChange.Row(destination.service(), ApplyRecord.kafkaKeyBytes(kafkaKey), apply.awaitingCommit().toBytes()));
        } else {
            context.forward(new Record<>(ApplyRecord.kafkaKeyBytes(kafkaKey), apply.toBytes(), record.timestamp()),
                    SyncTopology.sinkName(destination.service()));
        }
        routedCounter(destination.service(), change).increment();
    }

    private Counter routedCounter(String service, ChangeEvent change) {
        Map<dev.strangler.core.TableId, Counter> byTable = routed.computeIfAbsent(service, s -> new ConcurrentHashMap<>());
        Counter counter = byTable.get(change.table());
        if (counter == null) {
            counter = Counter.builder(MetricNames.SYNC_ROUTED).tag(MetricNames.TAG_SERVICE, service)
                    .tag(MetricNames.TAG_TABLE, change.table().toString())
                    .description("rows routed to a service's apply topic").register(metrics);
            byTable.put(change.table(), counter);
        }
        return counter;
    }

    private void deadLetter(Record<byte[], byte[]> record, String table, DeadLetter.Stage stage, long sourceVersion, String reason) {
        Optional<RecordMetadata> meta = context.recordMetadata();
        DeadLetter letter = new DeadLetter("sync-engine", stage, reason, meta.map(RecordMetadata::topic).orElse("?"),
                meta.map(RecordMetadata::partition).orElse(-1), meta.map(RecordMetadata::offset).orElse(-1L), table, sourceVersion,
                record.key(), record.value());
        LOG.warn("dead letter from {}: {}", letter.topic() + "@" + letter.offset(), reason);
        deadLetters.increment();
        context.forward(new Record<>(record.key(), letter.toBytes(), record.timestamp()), SyncTopology.deadLetterSink());
    }
}
