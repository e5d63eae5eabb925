package dev.strangler.syncengine.internal;

import dev.strangler.connectors.PostgresCapture;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.DeadLetter;
import dev.strangler.core.MalformedChangeException;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TransactionCommit;
import dev.strangler.core.TransactionEnd;
import dev.strangler.syncengine.SyncPlan;
import dev.strangler.syncengine.SyncTopology;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reassembles source transactions and emits them whole, in source commit order.
 *
 * <p>Two inputs meet here, both on one partition: the changes of transactions (from the route
 * processor, directly or through the sequencer topic) and Debezium's transaction topic, whose END
 * events come in commit order and say how many changes each transaction has. A transaction is emitted
 * when its END has been seen and all its changes have arrived, and only when every transaction that
 * committed before it has been emitted: its rows to each service's apply topic, then a
 * {@link TransactionCommit} marker there. A transaction still incomplete after the timeout is reported
 * (log, metric, dead-letter record naming what is missing) and emitted with what arrived, so one lost
 * END cannot stop the pipeline.
 *
 * <p>Pending transactions live in memory. Only what is still pending when the task commits is written
 * to the changelogged store, by the {@link BeforeCommitHook} just before the commit: most transactions
 * arrive and leave within one commit interval and never touch the store. Store keys:
 * {@code e|<tx>|<n>} → a chunk of changes (those that arrived between two commits, up to 256 KiB);
 * {@code x|<tx>} → the END's place in the commit-order queue, its announced count and commit position;
 * {@code w} → the commit position of the last transaction emitted. A transaction replayed by a capture
 * restart is recognised by its END: its commit position is not past that watermark, and it is dropped
 * with the changes that arrived for it. (For ENDs without a position, the ids of transactions emitted
 * in the last six hours are kept instead: {@code c|<tx>} → completion time.) After a restart the memory
 * is rebuilt from the store.
 *
 * <p>Two-way sync: a transaction that holds a writer's origin marker is the writer's own; its rows bound
 * back to the marker's origin are echoes and are dropped, and the marker's applied-through number goes to
 * the {@link ConflictResolver} before any later transaction of this origin is emitted. Rows bound for a
 * two-way target pass the resolver, which numbers them, and may hold them back and emit its decision to both
 * targets in a transaction of its own after this one.
 */
public final class SequencerProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private static final Logger LOG = LoggerFactory.getLogger(SequencerProcessor.class);
    private static final long COMPLETED_MEMORY_MS = TimeUnit.HOURS.toMillis(6);
    /** below Kafka's default 1 MiB record limit, which changelog topics keep */
    private static final int MAX_CHUNK_BYTES = 256 * 1024;
    private static final String WATERMARK_KEY = "w";

    private final String transactionTopic;
    private final SyncPlan.Origin origin;
    private final String storeName;
    private final String hookName;
    private final ConflictResolver resolver;
    private final Counter echoes;
    private final Duration timeout;
    private final Counter emitted;
    private final Counter incomplete;
    private final Timer waited;
    private final AtomicLong pending;
    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<String, byte[]> store;

    /**
     * @param pending shared by every instance of the processor: transactions waiting for their END or changes
     */
    public SequencerProcessor(String transactionTopic, Duration timeout, MeterRegistry metrics, AtomicLong pending) {
        this(null, SyncTopology.SEQUENCER_STORE, SyncTopology.SEQUENCER_COMMIT_HOOK, null, transactionTopic, timeout, metrics, pending);
    }

    /**
     * @param origin   the capture origin whose transactions this sequencer assembles (null: the monolith,
     *                 without origin markers)
     * @param resolver decides conflicts of two-way rows; null without two-way tables
     */
    public SequencerProcessor(SyncPlan.Origin origin, String storeName, String hookName, ConflictResolver resolver,
                              String transactionTopic, Duration timeout, MeterRegistry metrics, AtomicLong pending) {
        this.origin = origin;
        this.storeName = storeName;
        this.hookName = hookName;
        this.resolver = resolver;
        String originName = origin == null ? dev.strangler.core.TopicNames.MONOLITH_ORIGIN : origin.name();
        this.echoes = Counter.builder(MetricNames.SYNC_ECHOES_DROPPED).tag(MetricNames.TAG_ORIGIN, originName)
                .description("rows of the writer's own transactions not sent back").register(metrics);
        this.pending = pending;
        this.transactionTopic = transactionTopic;
        this.timeout = timeout;
        this.emitted = Counter.builder(MetricNames.SYNC_TRANSACTIONS).description("source transactions emitted whole").register(metrics);
        this.incomplete = Counter.builder(MetricNames.SYNC_TRANSACTIONS_INCOMPLETE)
                .description("transactions applied incomplete after the timeout").register(metrics);
        this.waited = Timer.builder(MetricNames.SYNC_TRANSACTION_WAIT).description("first change of a transaction to its emission")
                .publishPercentileHistogram().register(metrics);
    }

    /** One transaction waiting for its END or its changes. */
    private static final class Pending {
        final String id;
        final long firstSeenMs;
        /** change bytes by source position: the order of execution */
        final TreeMap<SequencedChange.Position, byte[]> changes = new TreeMap<>();
        /** Debezium's total_order of each change, by source position, as the latest capture session sent it */
        final Map<SequencedChange.Position, Long> totalOrders = new HashMap<>();
        /** positions not yet in the store, in arrival order */
        final List<SequencedChange.Position> unstored = new ArrayList<>();
        /** how many chunks of this transaction's changes the store holds: keys e|tx|0 .. e|tx|n-1 */
        int storedChunks;
        long expected = -1;
        long endSequence = -1;
        long commitPosition = TransactionEnd.UNKNOWN_POSITION;
        boolean endStored;

        Pending(String id, long now) {
            this.id = id;
            this.firstSeenMs = now;
        }
    }

    private final Map<String, Pending> pendingByTx = new HashMap<>();
    /** transactions whose END has been seen, in commit order */
    private final ArrayDeque<Pending> ends = new ArrayDeque<>();
    /** pending transactions with something not yet in the store */
    private final Set<Pending> unstored = new LinkedHashSet<>();
    private final Map<String, Long> completed = new HashMap<>();
    private final List<String> completedUnstored = new ArrayList<>();
    private long nextEndSequence;
    /** commit position of the last transaction emitted; ENDs at or before it are replays */
    private long watermark = TransactionEnd.UNKNOWN_POSITION;
    private boolean watermarkUnstored;

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.store = context.getStateStore(storeName);
        BeforeCommitHook hook = context.getStateStore(hookName);
        if (resolver != null) {
            resolver.init(context.getStateStore(SyncTopology.CONFLICT_STORE));
            if (origin == null || origin.monolith()) {
                // one sequencer of the task purges the shared store
                context.schedule(Duration.ofMinutes(1), PunctuationType.WALL_CLOCK_TIME, resolver::purge);
            }
        }
        hook.onBeforeCommit(this::storePending);
        rebuild();
        context.schedule(Duration.ofSeconds(5), PunctuationType.WALL_CLOCK_TIME, this::checkTimeouts);
    }

    /** Runs after the store is restored: the in-memory view of pending transactions, from the store. */
    private void rebuild() {
        // the wall clock: while a task initialises, the context's time is not set yet; a transaction
        // pending across a restart waits its timeout again from the restart
        long now = System.currentTimeMillis();
        List<Pending> withEnd = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, byte[]> entry = all.next();
                String key = entry.key;
                if (key.startsWith("e|")) {
                    int bar = key.lastIndexOf('|');
                    Pending p = pendingByTx.computeIfAbsent(key.substring(2, bar), tx -> new Pending(tx, now));
                    for (byte[] change : unchunk(entry.value)) {
                        SequencedChange.Header header = SequencedChange.header(change);
                        p.changes.put(header.position(), change);
                        p.totalOrders.put(header.position(), header.totalOrder());
                    }
                    p.storedChunks = Math.max(p.storedChunks, Integer.parseInt(key.substring(bar + 1)) + 1);
                } else if (key.startsWith("x|")) {
                    Pending p = pendingByTx.computeIfAbsent(key.substring(2), tx -> new Pending(tx, now));
                    ByteBuffer end = ByteBuffer.wrap(entry.value);
                    p.endSequence = end.getLong();
                    p.expected = end.getLong();
                    p.commitPosition = end.getLong();
                    p.endStored = true;
                    withEnd.add(p);
                } else if (key.startsWith("c|")) {
                    completed.put(key.substring(2), ByteBuffer.wrap(entry.value).getLong());
                } else if (key.equals(WATERMARK_KEY)) {
                    watermark = ByteBuffer.wrap(entry.value).getLong();
                }
            }
        }
        withEnd.sort(Comparator.comparingLong(p -> p.endSequence));
        ends.addAll(withEnd);
        nextEndSequence = withEnd.isEmpty() ? 0 : withEnd.get(withEnd.size() - 1).endSequence + 1;
        pending.set(ends.size());
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        String topic = context.recordMetadata().map(m -> m.topic()).orElse("");
        if (topic.equals(transactionTopic)) {
            onTransactionEvent(record);
        } else {
            onChange(record.value());
        }
        emitReady();
    }

    private void onChange(byte[] bytes) {
        // only the header: the rows are decoded once, when the transaction is emitted
        SequencedChange.Header change = SequencedChange.header(bytes);
        String tx = change.transactionId();
        if (completed.containsKey(tx)) {
            return;
        }
        Pending p = pendingByTx.computeIfAbsent(tx, t -> new Pending(t, context.currentSystemTimeMs()));
        Long known = p.totalOrders.put(change.position(), change.totalOrder());
        if (known == null) {
            p.changes.put(change.position(), bytes);
            p.unstored.add(change.position());
            unstored.add(p);
        } else if (known != change.totalOrder()) {
            // sent again by a capture restarted mid-transaction, which counts anew: its total order counts,
            // the rows stay those first routed (the route processor drops a replayed row by version)
            p.changes.put(change.position(), SequencedChange.withTotalOrder(p.changes.get(change.position()), change.totalOrder()));
            p.unstored.add(change.position());
            unstored.add(p);
        }
    }

    private void onTransactionEvent(Record<byte[], byte[]> record) {
        TransactionEnd end;
        try {
            var parsed = TransactionEnd.parse(record.value());
            if (parsed.isEmpty()) {
                return;
            }
            end = parsed.get();
        } catch (MalformedChangeException e) {
            deadLetter(record.key(), record.value(), e.getMessage());
            return;
        }
        if (completed.containsKey(end.id())) {
            return;
        }
        if (onlyUnpublishedTables(end)) {
            // Debezium's own bookkeeping (an incremental snapshot's window marks in the signalling table): its
            // rows are not published, so nothing of it ever arrives; waiting for it would hold every later transaction
            Pending none = pendingByTx.get(end.id());
            if (none != null && none.expected < 0) {
                forget(none);
            }
            return;
        }
        if (end.commitPosition() != TransactionEnd.UNKNOWN_POSITION && end.commitPosition() <= watermark) {
            // a capture restart sent this transaction again: it was emitted already
            Pending replayed = pendingByTx.get(end.id());
            if (replayed != null && replayed.expected < 0) {
                forget(replayed);
            }
            return;
        }
        Pending p = pendingByTx.computeIfAbsent(end.id(), t -> new Pending(t, context.currentSystemTimeMs()));
        if (p.expected >= 0) {
            return;
        }
        p.expected = end.eventCount();
        p.commitPosition = end.commitPosition();
        p.endSequence = nextEndSequence++;
        ends.add(p);
        unstored.add(p);
    }

    /** Whether every change of the transaction is in a table the capture reads but does not publish. */
    private static boolean onlyUnpublishedTables(TransactionEnd end) {
        return !end.eventsPerTable().isEmpty()
                && end.eventsPerTable().keySet().stream().allMatch(PostgresCapture::unpublished);
    }

    /** Emits complete transactions from the head of the END queue, in commit order. */
    private void emitReady() {
        while (!ends.isEmpty()) {
            Pending p = ends.peek();
            if (!complete(p)) {
                break;
            }
            ends.poll();
            emit(p, false);
        }
        pending.set(ends.size());
    }

    /**
     * Whether every change the END announces has arrived. The END counts the changes the capture sent
     * in its last session; a capture restarted mid-transaction sends only the rest (from where its
     * offsets were), numbering them from 1, and announces only those. So the transaction is complete
     * when the {@code expected} changes with the highest positions carry the total orders 1, 2, ..., expected:
     * the last session's changes, all there.
     */
    private static boolean complete(Pending p) {
        if (p.expected < 0 || p.changes.size() < p.expected) {
            return false;
        }
        long wanted = p.expected;
        // changes that share a source position (a TRUNCATE of several tables) may carry their total orders in
        // any order among themselves: such a group must hold the next totals as a set
        java.util.List<Long> group = new ArrayList<>();
        long groupOrder = Long.MIN_VALUE;
        for (SequencedChange.Position position : p.changes.descendingKeySet()) {
            if (wanted == 0 && group.isEmpty()) {
                break;
            }
            if (position.order() != groupOrder && !group.isEmpty()) {
                if (!takes(group, wanted)) {
                    return false;
                }
                wanted -= group.size();
                group.clear();
                if (wanted == 0) {
                    break;
                }
            }
            groupOrder = position.order();
            group.add(p.totalOrders.get(position));
        }
        if (!group.isEmpty()) {
            if (!takes(group, wanted)) {
                return false;
            }
            wanted -= group.size();
        }
        return wanted == 0;
    }

    /** Whether a group of changes at one position carries exactly the totals wanted-size+1 .. wanted. */
    private static boolean takes(java.util.List<Long> totals, long wanted) {
        if (totals.size() > wanted) {
            return false;
        }
        java.util.Set<Long> expected = new java.util.HashSet<>();
        for (long t = wanted - totals.size() + 1; t <= wanted; t++) {
            expected.add(t);
        }
        return new java.util.HashSet<>(totals).equals(expected);
    }

    private void emit(Pending p, boolean partial) {
        List<SequencedChange> changes = new ArrayList<>(p.changes.size());
        Set<String> echoTargets = new HashSet<>();
        long commitMicros = 0;
        for (byte[] bytes : p.changes.values()) {
            SequencedChange change = SequencedChange.fromBytes(bytes);
            changes.add(change);
            commitMicros = Math.max(commitMicros, change.sourceCommitMicros());
            if (change.markerOrigin() != null && origin != null) {
                echoTargets.add(origin.echoTarget(change.markerOrigin()));
                if (resolver != null) {
                    // what the writer had applied to this origin's database when this transaction committed
                    resolver.onApplied(origin.writerTarget(change.markerOrigin()), change.markerThrough());
                }
            }
        }
        long timestamp = context.currentSystemTimeMs();
        Map<String, List<SequencedChange.Row>> byService = new LinkedHashMap<>();
        Map<String, List<ApplyRecord>> corrections = new LinkedHashMap<>();
        for (SequencedChange change : changes) {
            for (SequencedChange.Row row : change.rows()) {
                if (echoTargets.contains(row.service())) {
                    // the writer applied this change to the database it came from: sending it there again is an echo
                    echoes.increment();
                    continue;
                }
                if (resolver != null && resolver.watches(row.service())) {
                    ConflictResolver.Outcome outcome = resolver.onRow(row.service(), ApplyRecord.fromBytes(row.value()), timestamp);
                    for (ConflictResolver.Correction c : outcome.corrections()) {
                        corrections.computeIfAbsent(c.target(), t -> new ArrayList<>()).add(c.record());
                    }
                    if (outcome.audit() != null) {
                        context.forward(new Record<>(outcome.auditKey(), outcome.audit(), timestamp), SyncTopology.CONFLICTS_SINK);
                    }
                    if (outcome.forward() == null) {
                        continue;
                    }
                    row = new SequencedChange.Row(row.service(), row.key(), outcome.forward().toBytes());
                }
                byService.computeIfAbsent(row.service(), s -> new ArrayList<>()).add(row);
            }
        }
        for (Map.Entry<String, List<SequencedChange.Row>> service : byService.entrySet()) {
            String sink = SyncTopology.sinkName(service.getKey());
            for (SequencedChange.Row row : service.getValue()) {
                context.forward(new Record<>(row.key(), row.value(), timestamp), sink);
            }
            TransactionCommit commit = new TransactionCommit(p.id, service.getValue().size(), commitMicros);
            context.forward(new Record<>(commit.kafkaKey(), commit.toBytes(), timestamp), sink);
        }
        // conflict decisions: a transaction of their own per target, after the one that caused them
        for (Map.Entry<String, List<ApplyRecord>> target : corrections.entrySet()) {
            String sink = SyncTopology.sinkName(target.getKey());
            for (ApplyRecord record : target.getValue()) {
                ApplyRecord whole = record.awaitingCommit();
                context.forward(new Record<>(whole.kafkaKeyBytes(), whole.toBytes(), timestamp), sink);
            }
            TransactionCommit commit = new TransactionCommit(p.id + "/decided", target.getValue().size(), commitMicros);
            context.forward(new Record<>(commit.kafkaKey(), commit.toBytes(), timestamp), sink);
        }
        forget(p);
        // A transaction given up on is not remembered as done: if the capture sends it again (a restart),
        // it is emitted again once complete, and the writer's version guard keeps what was applied already.
        if (!partial && p.commitPosition != TransactionEnd.UNKNOWN_POSITION) {
            watermark = Math.max(watermark, p.commitPosition);
            watermarkUnstored = true;
        } else if (!partial) {
            completed.put(p.id, timestamp);
            completedUnstored.add(p.id);
        }
        if (!partial) {
            emitted.increment();
        }
        waited.record(Math.max(0, timestamp - p.firstSeenMs), TimeUnit.MILLISECONDS);
    }

    /** Drops an emitted transaction from memory, and from the store what an earlier commit put there. */
    private void forget(Pending p) {
        pendingByTx.remove(p.id);
        unstored.remove(p);
        for (int chunk = 0; chunk < p.storedChunks; chunk++) {
            store.delete(changeKey(p.id, chunk));
        }
        if (p.endStored) {
            store.delete(endKey(p.id));
        }
    }

    /** Before each commit: what is still pending goes to the store, so a restart finds it. */
    private void storePending() {
        for (Pending p : unstored) {
            List<byte[]> chunk = new ArrayList<>();
            int chunkBytes = 0;
            for (SequencedChange.Position position : p.unstored) {
                byte[] change = p.changes.get(position);
                if (!chunk.isEmpty() && chunkBytes + change.length > MAX_CHUNK_BYTES) {
                    store.put(changeKey(p.id, p.storedChunks++), chunk(chunk, chunkBytes));
                    chunk.clear();
                    chunkBytes = 0;
                }
                chunk.add(change);
                chunkBytes += change.length;
            }
            if (!chunk.isEmpty()) {
                store.put(changeKey(p.id, p.storedChunks++), chunk(chunk, chunkBytes));
            }
            p.unstored.clear();
            if (p.expected >= 0 && !p.endStored) {
                store.put(endKey(p.id), ByteBuffer.allocate(24).putLong(p.endSequence).putLong(p.expected).putLong(p.commitPosition).array());
                p.endStored = true;
            }
        }
        unstored.clear();
        for (String tx : completedUnstored) {
            Long at = completed.get(tx);
            if (at != null) {
                store.put(completedKey(tx), ByteBuffer.allocate(8).putLong(at).array());
            }
        }
        completedUnstored.clear();
        if (watermarkUnstored) {
            store.put(WATERMARK_KEY, ByteBuffer.allocate(8).putLong(watermark).array());
            watermarkUnstored = false;
        }
    }

    /** Reports and emits transactions that stayed incomplete past the timeout; forgets old completions. */
    private void checkTimeouts(long now) {
        Pending head = ends.peek();
        if (head != null && now - head.firstSeenMs > timeout.toMillis()) {
            ends.poll();
            giveUp(head, "its END says " + head.expected + " changes, " + head.changes.size() + " arrived");
            emitReady();
        }
        List<Pending> orphans = new ArrayList<>();
        pendingByTx.values().forEach(p -> {
            if (p.expected < 0 && now - p.firstSeenMs > timeout.toMillis()) {
                orphans.add(p);
            }
        });
        for (Pending p : orphans) {
            giveUp(p, "its END never arrived; " + p.changes.size() + " changes arrived");
        }
        List<String> forget = new ArrayList<>();
        completed.forEach((tx, at) -> {
            if (now - at > COMPLETED_MEMORY_MS) {
                forget.add(tx);
            }
        });
        for (String tx : forget) {
            completed.remove(tx);
            store.delete(completedKey(tx));
        }
    }

    private void giveUp(Pending p, String what) {
        String reason = "source transaction " + p.id + " is incomplete after " + timeout.toSeconds() + " s (" + what
                + "); applying what arrived. Look for lost records on " + transactionTopic + " or the cdc topics";
        LOG.error(reason);
        incomplete.increment();
        deadLetter(p.id.getBytes(StandardCharsets.UTF_8), null, reason);
        emit(p, true);
    }

    private void deadLetter(byte[] key, byte[] value, String reason) {
        var meta = context.recordMetadata();
        DeadLetter letter = new DeadLetter("sync-engine:sequencer", DeadLetter.Stage.TRANSACTION, reason, meta.map(m -> m.topic()).orElse(transactionTopic),
                meta.map(m -> m.partition()).orElse(-1), meta.map(m -> m.offset()).orElse(-1L), null, DeadLetter.UNKNOWN_VERSION, key, value);
        context.forward(new Record<>(key, letter.toBytes(), context.currentSystemTimeMs()), SyncTopology.deadLetterSink());
    }

    /** Several changes in one store value: each as its length and its bytes. */
    private static byte[] chunk(List<byte[]> changes, int bytes) {
        ByteBuffer out = ByteBuffer.allocate(bytes + 4 * changes.size());
        for (byte[] change : changes) {
            out.putInt(change.length).put(change);
        }
        return out.array();
    }

    private static List<byte[]> unchunk(byte[] chunk) {
        List<byte[]> changes = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(chunk);
        while (in.hasRemaining()) {
            byte[] change = new byte[in.getInt()];
            in.get(change);
            changes.add(change);
        }
        return changes;
    }

    /** Zero-padded, so that a restore reads a transaction's chunks in the order they were written (later ones win). */
    private static String changeKey(String tx, int chunk) {
        return "e|" + tx + "|" + String.format("%06d", chunk);
    }

    private static String endKey(String tx) {
        return "x|" + tx;
    }

    private static String completedKey(String tx) {
        return "c|" + tx;
    }
}
