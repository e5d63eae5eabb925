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
import java.util.ArrayList;
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
 * <p>State (one store, changelogged): {@code e|<tx>|<order>} → change; {@code s|<tx>} → received count,
 * expected count, first seen; {@code q|<seq>} → transaction id, the queue of ENDs; {@code c|<tx>} →
 * completion time, so a replayed transaction (a capture restart) is recognised and dropped.
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

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.store = context.getStateStore(SyncTopology.SEQUENCER_STORE);
        context.schedule(Duration.ofSeconds(5), PunctuationType.WALL_CLOCK_TIME, this::checkTimeouts);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        String topic = context.recordMetadata().map(m -> m.topic()).orElse("");
        if (topic.equals(transactionTopic)) {
            onTransactionEvent(record);
        } else {
            onChange(SequencedChange.fromBytes(record.value()));
        }
        emitReady();
    }

    private void onChange(SequencedChange change) {
        String tx = change.transactionId();
        if (store.get("c|" + tx) != null) {
            return;
        }
        String key = eventKey(tx, change.order());
        if (store.get(key) != null) {
            return;
        }
        store.put(key, change.toBytes());
        long[] state = state(tx);
        state[0]++;
        if (state[2] == 0) {
            state[2] = context.currentSystemTimeMs();
        }
        putState(tx, state);
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
            deadLetter(record.key(), record.value(), null, e.getMessage());
            return;
        }
        if (store.get("c|" + end.id()) != null) {
            return;
        }
        long[] state = state(end.id());
        if (state[1] >= 0) {
            return;
        }
        state[1] = end.eventCount();
        if (state[2] == 0) {
            state[2] = context.currentSystemTimeMs();
        }
        putState(end.id(), state);
        long tail = meta("m|tail");
        store.put(queueKey(tail), end.id().getBytes(StandardCharsets.UTF_8));
        putMeta("m|tail", tail + 1);
    }

    /** Emits complete transactions from the head of the END queue, in commit order. */
    private void emitReady() {
        long head = meta("m|head");
        long tail = meta("m|tail");
        while (head < tail) {
            String tx = new String(store.get(queueKey(head)), StandardCharsets.UTF_8);
            long[] state = state(tx);
            // a restarted capture may announce fewer changes than arrived (it counts what it sent since)
            if (state[0] < state[1]) {
                break;
            }
            emit(tx, state, false);
            store.delete(queueKey(head));
            head++;
            putMeta("m|head", head);
        }
        pending.set(tail - head);
    }

    private void emit(String tx, long[] state, boolean partial) {
        Map<String, List<SequencedChange.Row>> byService = new LinkedHashMap<>();
        long commitMicros = 0;
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> events = store.prefixScan("e|" + tx + "|", new org.apache.kafka.common.serialization.StringSerializer())) {
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
        store.delete("s|" + tx);
        store.put("c|" + tx, ByteBuffer.allocate(8).putLong(timestamp).array());
        if (!partial) {
            emitted.increment();
        }
        if (state[2] > 0) {
            waited.record(Math.max(0, timestamp - state[2]), TimeUnit.MILLISECONDS);
        }
    }

    /** Reports and emits transactions that stayed incomplete past the timeout; forgets old completions. */
    private void checkTimeouts(long now) {
        long head = meta("m|head");
        long tail = meta("m|tail");
        if (head < tail) {
            String tx = new String(store.get(queueKey(head)), StandardCharsets.UTF_8);
            long[] state = state(tx);
            if (state[2] > 0 && now - state[2] > timeout.toMillis()) {
                giveUp(tx, state, "its END says " + state[1] + " changes, " + state[0] + " arrived");
                store.delete(queueKey(head));
                putMeta("m|head", head + 1);
                emitReady();
            }
        }
        List<String> forget = new ArrayList<>();
        List<String> orphans = new ArrayList<>();
        var keys = new org.apache.kafka.common.serialization.StringSerializer();
        try (KeyValueIterator<String, byte[]> completed = store.prefixScan("c|", keys)) {
            while (completed.hasNext()) {
                KeyValue<String, byte[]> entry = completed.next();
                if (now - ByteBuffer.wrap(entry.value).getLong() > COMPLETED_MEMORY_MS) {
                    forget.add(entry.key);
                }
            }
        }
        try (KeyValueIterator<String, byte[]> states = store.prefixScan("s|", keys)) {
            while (states.hasNext()) {
                KeyValue<String, byte[]> entry = states.next();
                long[] state = decodeState(entry.value);
                if (state[1] < 0 && state[2] > 0 && now - state[2] > timeout.toMillis()) {
                    orphans.add(entry.key.substring(2));
                }
            }
        }
        forget.forEach(store::delete);
        for (String tx : orphans) {
            giveUp(tx, state(tx), "its END never arrived; " + state(tx)[0] + " changes arrived");
        }
    }

    private void giveUp(String tx, long[] state, String what) {
        String reason = "source transaction " + tx + " is incomplete after " + timeout.toSeconds() + " s (" + what
                + "); applying what arrived. Look for lost records on " + transactionTopic + " or the cdc topics";
        LOG.error(reason);
        incomplete.increment();
        deadLetter(tx.getBytes(StandardCharsets.UTF_8), null, tx, reason);
        emit(tx, state, true);
    }

    private void deadLetter(byte[] key, byte[] value, String tx, String reason) {
        var meta = context.recordMetadata();
        DeadLetter letter = new DeadLetter("sync-engine:sequencer", reason, meta.map(m -> m.topic()).orElse(transactionTopic),
                meta.map(m -> m.partition()).orElse(-1), meta.map(m -> m.offset()).orElse(-1L), null, key, value);
        context.forward(new Record<>(key, letter.toBytes(), context.currentSystemTimeMs()), SyncTopology.deadLetterSink());
    }

    /** [received, expected (-1 until END), first seen ms]. */
    private long[] state(String tx) {
        byte[] bytes = store.get("s|" + tx);
        return bytes == null ? new long[]{0, -1, 0} : decodeState(bytes);
    }

    private static long[] decodeState(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new long[]{b.getLong(), b.getLong(), b.getLong()};
    }

    private void putState(String tx, long[] state) {
        store.put("s|" + tx, ByteBuffer.allocate(24).putLong(state[0]).putLong(state[1]).putLong(state[2]).array());
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
