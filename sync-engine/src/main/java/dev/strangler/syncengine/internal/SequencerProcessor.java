package dev.strangler.syncengine.internal;

import dev.strangler.core.DeadLetter;
import dev.strangler.core.MalformedChangeException;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TransactionCommit;
import dev.strangler.core.TransactionEnd;
import dev.strangler.syncengine.SyncTopology;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.common.serialization.StringSerializer;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reassembles source transactions and emits them whole, in source commit order.
 *
 * <p>Two inputs meet here, both on one partition: the changes of transactions (from the route
 * processor, through the sequencer topic) and Debezium's transaction topic, whose END events come in
 * commit order and say how many changes each transaction has. A transaction is emitted when its END
 * has been seen and all its changes have arrived, and only when every transaction that committed
 * before it has been emitted: its rows to each service's apply topic, then a {@link TransactionCommit}
 * marker there. A transaction still incomplete after the timeout is reported (log, metric, dead-letter
 * record naming what is missing) and emitted with what arrived, so one lost END cannot stop the pipeline.
 *
 * <p>State (one store, changelogged): {@code e|<tx>|<position>} → change; {@code q|<seq>} → transaction id
 * and announced count, the queue of ENDs; {@code m|head} → first queue entry; {@code c|<tx>} → completion
 * time, so a replayed transaction (a capture restart) is recognised and dropped. The counts and the queue
 * are also kept in memory (rebuilt from the store after a restart), so a change costs one store write.
 */
public final class SequencerProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private static final Logger LOG = LoggerFactory.getLogger(SequencerProcessor.class);
    private static final long COMPLETED_MEMORY_MS = TimeUnit.HOURS.toMillis(6);

    private final String transactionTopic;
    private final Duration timeout;
    private final MeterRegistry metrics;
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
        this.pending = pending;
        this.transactionTopic = transactionTopic;
        this.timeout = timeout;
        this.metrics = metrics;
        this.emitted = Counter.builder(MetricNames.SYNC_TRANSACTIONS).description("source transactions emitted whole").register(metrics);
        this.incomplete = Counter.builder(MetricNames.SYNC_TRANSACTIONS_INCOMPLETE)
                .description("transactions applied incomplete after the timeout").register(metrics);
        this.waited = Timer.builder(MetricNames.SYNC_TRANSACTION_WAIT).description("first change of a transaction to its emission")
                .publishPercentileHistogram().register(metrics);
    }

    /** What the processor knows of one pending transaction; rebuilt from the store after a restart. */
    private static final class Pending {
        final Set<Long> positions = new HashSet<>();
        long expected = -1;
        long firstSeenMs;

        Pending(long now) {
            firstSeenMs = now;
        }
    }

    private final Map<String, Pending> pendingByTx = new HashMap<>();
    private final ArrayDeque<String> ends = new ArrayDeque<>();
    private final Map<String, Long> completed = new HashMap<>();
    private long head;

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.store = context.getStateStore(SyncTopology.SEQUENCER_STORE);
        rebuild();
        context.schedule(Duration.ofSeconds(5), PunctuationType.WALL_CLOCK_TIME, this::checkTimeouts);
    }

    /** Runs after the store is restored: the in-memory view of pending transactions, from the store. */
    private void rebuild() {
        long now = context.currentSystemTimeMs();
        var keys = new StringSerializer();
        try (KeyValueIterator<String, byte[]> events = store.prefixScan("e|", keys)) {
            while (events.hasNext()) {
                String key = events.next().key;
                int bar = key.lastIndexOf('|');
                pendingByTx.computeIfAbsent(key.substring(2, bar), tx -> new Pending(now)).positions.add(Long.parseLong(key.substring(bar + 1)));
            }
        }
        head = meta("m|head");
        try (KeyValueIterator<String, byte[]> queue = store.prefixScan("q|", keys)) {
            while (queue.hasNext()) {
                KeyValue<String, byte[]> entry = queue.next();
                String[] end = new String(entry.value, StandardCharsets.UTF_8).split("\n", 2);
                ends.add(end[0]);
                pendingByTx.computeIfAbsent(end[0], tx -> new Pending(now)).expected = Long.parseLong(end[1]);
            }
        }
        try (KeyValueIterator<String, byte[]> done = store.prefixScan("c|", keys)) {
            while (done.hasNext()) {
                KeyValue<String, byte[]> entry = done.next();
                completed.put(entry.key.substring(2), ByteBuffer.wrap(entry.value).getLong());
            }
        }
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
        Pending p = pendingByTx.computeIfAbsent(tx, t -> new Pending(context.currentSystemTimeMs()));
        if (p.positions.add(change.order())) {
            store.put(eventKey(tx, change.order()), bytes);
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
        Pending p = pendingByTx.computeIfAbsent(end.id(), t -> new Pending(context.currentSystemTimeMs()));
        if (p.expected >= 0) {
            return;
        }
        p.expected = end.eventCount();
        store.put(queueKey(head + ends.size()), (end.id() + "\n" + end.eventCount()).getBytes(StandardCharsets.UTF_8));
        ends.add(end.id());
    }

    /** Emits complete transactions from the head of the END queue, in commit order. */
    private void emitReady() {
        while (!ends.isEmpty()) {
            String tx = ends.peek();
            Pending p = pendingByTx.get(tx);
            // a restarted capture may announce fewer changes than arrived (it counts what it sent since)
            if (p != null && p.positions.size() < p.expected) {
                break;
            }
            emit(tx, p, false);
            popEnd();
        }
        pending.set(ends.size());
    }

    private void popEnd() {
        ends.poll();
        store.delete(queueKey(head));
        head++;
        putMeta("m|head", head);
    }

    private void emit(String tx, Pending p, boolean partial) {
        Map<String, List<SequencedChange.Row>> byService = new LinkedHashMap<>();
        long commitMicros = 0;
        List<String> keys = new ArrayList<>();
        if (p != null && !p.positions.isEmpty()) {
            try (KeyValueIterator<String, byte[]> events = store.prefixScan("e|" + tx + "|", new StringSerializer())) {
                while (events.hasNext()) {
                    KeyValue<String, byte[]> entry = events.next();
                    keys.add(entry.key);
                    SequencedChange change = SequencedChange.fromBytes(entry.value);
                    commitMicros = Math.max(commitMicros, change.sourceCommitMicros());
                    for (SequencedChange.Row row : change.rows()) {
                        byService.computeIfAbsent(row.service(), s -> new ArrayList<>()).add(row);
                    }
                }
            }
        }
        long timestamp = context.currentSystemTimeMs();
        for (Map.Entry<String, List<SequencedChange.Row>> service : byService.entrySet()) {
            String sink = SyncTopology.sinkName(service.getKey());
            for (SequencedChange.Row row : service.getValue()) {
                context.forward(new Record<>(row.key(), row.value(), timestamp), sink);
            }
            TransactionCommit commit = new TransactionCommit(tx, service.getValue().size(), commitMicros);
            context.forward(new Record<>(commit.kafkaKey(), commit.toBytes(), timestamp), sink);
        }
        keys.forEach(store::delete);
        pendingByTx.remove(tx);
        completed.put(tx, timestamp);
        store.put("c|" + tx, ByteBuffer.allocate(8).putLong(timestamp).array());
        if (!partial) {
            emitted.increment();
        }
        if (p != null) {
            waited.record(Math.max(0, timestamp - p.firstSeenMs), TimeUnit.MILLISECONDS);
        }
    }

    /** Reports and emits transactions that stayed incomplete past the timeout; forgets old completions. */
    private void checkTimeouts(long now) {
        if (!ends.isEmpty()) {
            String tx = ends.peek();
            Pending p = pendingByTx.get(tx);
            if (p != null && now - p.firstSeenMs > timeout.toMillis()) {
                giveUp(tx, p, "its END says " + p.expected + " changes, " + p.positions.size() + " arrived");
                popEnd();
                emitReady();
            }
        }
        List<String> orphans = new ArrayList<>();
        pendingByTx.forEach((tx, p) -> {
            if (p.expected < 0 && now - p.firstSeenMs > timeout.toMillis()) {
                orphans.add(tx);
            }
        });
        for (String tx : orphans) {
            giveUp(tx, pendingByTx.get(tx), "its END never arrived; " + pendingByTx.get(tx).positions.size() + " changes arrived");
        }
        List<String> forget = new ArrayList<>();
        completed.forEach((tx, at) -> {
            if (now - at > COMPLETED_MEMORY_MS) {
                forget.add(tx);
            }
        });
        for (String tx : forget) {
            completed.remove(tx);
            store.delete("c|" + tx);
        }
    }

    private void giveUp(String tx, Pending p, String what) {
        String reason = "source transaction " + tx + " is incomplete after " + timeout.toSeconds() + " s (" + what
                + "); applying what arrived. Look for lost records on " + transactionTopic + " or the cdc topics";
        LOG.error(reason);
        incomplete.increment();
        deadLetter(tx.getBytes(StandardCharsets.UTF_8), null, reason);
        emit(tx, p, true);
    }

    private void deadLetter(byte[] key, byte[] value, String reason) {
        var meta = context.recordMetadata();
        DeadLetter letter = new DeadLetter("sync-engine:sequencer", reason, meta.map(m -> m.topic()).orElse(transactionTopic),
                meta.map(m -> m.partition()).orElse(-1), meta.map(m -> m.offset()).orElse(-1L), null, key, value);
        context.forward(new Record<>(key, letter.toBytes(), context.currentSystemTimeMs()), SyncTopology.deadLetterSink());
    }

    private long meta(String key) {
        byte[] bytes = store.get(key);
        return bytes == null ? 0 : ByteBuffer.wrap(bytes).getLong();
    }

    private void putMeta(String key, long value) {
        store.put(key, ByteBuffer.allocate(8).putLong(value).array());
    }

    private static String eventKey(String tx, long order) {
        return "e|" + tx + "|" + String.format("%020d", order);
    }

    private static String queueKey(long seq) {
        return "q|" + String.format("%020d", seq);
    }

}
