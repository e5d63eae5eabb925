package dev.strangler.syncengine;

import dev.strangler.core.MetricNames;
import dev.strangler.syncengine.internal.BeforeCommitHook;
import dev.strangler.syncengine.internal.RouteProcessor;
import dev.strangler.syncengine.internal.SequencerProcessor;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sync engine's Kafka Streams topology, built in one pure method that the running engine and
 * {@code TopologyTestDriver} tests both call.
 *
 * <pre>
 * cdc topics ──▶ route ──▶ apply.&lt;service&gt;   (per-row tables, and changes without transaction metadata)
 *                  │  └──▶ dlq              (records that cannot be read or mapped)
 *                  │  └─ store "versions": last version per target key (drops replays)
 *                  └──▶ sequencer topic ──▶ sequencer ──▶ apply.&lt;service&gt;  (whole transactions + commit marker,
 *   cdc.&lt;origin&gt;.transaction (BEGIN/END) ────────┘   └─ store "sequencer"       in source commit order)
 * </pre>
 */
public final class SyncTopology {

    public static final String VERSION_STORE = "versions";
    public static final String SEQUENCER_STORE = "sequencer";
    public static final String SEQUENCER_COMMIT_HOOK = "sequencer-commit-hook";
    static final String SEQUENCER = "sequencer";
    static final String SEQUENCER_SINK = "to-sequencer";
    static final String SEQUENCED_SOURCE = "sequenced";
    static final String TRANSACTIONS_SOURCE = "transactions";
    static final String SOURCE = "cdc";
    static final String ROUTE = "route";
    static final String DEAD_LETTERS = "dead-letters";

    private SyncTopology() {
    }

    /**
     * @param singlePartition every cdc topic has one partition: the sequencer then sits in the route
     *                        processor's task and gets its changes directly; otherwise they travel
     *                        through the one-partition sequencer topic (a Kafka hop more)
     */
    public static Topology build(SyncPlan plan, Duration transactionTimeout, boolean singlePartition, MeterRegistry metrics) {
        Topology topology = new Topology();
        boolean sequencing = plan.usesTransactions();
        String sequencerTarget = singlePartition ? SEQUENCER : SEQUENCER_SINK;
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), plan.sourceTopics().toArray(String[]::new));
        topology.addProcessor(ROUTE, () -> new RouteProcessor(plan, metrics, sequencerTarget), SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(VERSION_STORE), Serdes.String(), Serdes.Long()), ROUTE);
        String[] applyParents = {ROUTE};
        if (sequencing) {
            String transactions = plan.topics().transactions(plan.origin());
            AtomicLong pending = metrics.gauge(MetricNames.SYNC_TRANSACTIONS_PENDING, new AtomicLong());
            topology.addSource(TRANSACTIONS_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), transactions);
            if (singlePartition) {
                topology.addProcessor(SEQUENCER, () -> new SequencerProcessor(transactions, transactionTimeout, metrics, pending), ROUTE, TRANSACTIONS_SOURCE);
            } else {
                topology.addSink(SEQUENCER_SINK, plan.topics().sequencer(plan.origin()), new ByteArraySerializer(), new ByteArraySerializer(), ROUTE);
                topology.addSource(SEQUENCED_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), plan.topics().sequencer(plan.origin()));
                topology.addProcessor(SEQUENCER, () -> new SequencerProcessor(transactions, transactionTimeout, metrics, pending), SEQUENCED_SOURCE, TRANSACTIONS_SOURCE);
            }
            // Pending transactions live in the processor's memory; the store (in memory, changelogged) gets
            // only those still pending at a commit, written by the commit hook.
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(SEQUENCER_STORE), Serdes.String(), Serdes.ByteArray())
                    .withCachingDisabled(), SEQUENCER);
            topology.addStateStore(BeforeCommitHook.builder(SEQUENCER_COMMIT_HOOK), SEQUENCER);
            applyParents = new String[]{ROUTE, SEQUENCER};
        }
        for (String service : plan.services().stream().sorted().toList()) {
            topology.addSink(sinkName(service), plan.topics().apply(service), new ByteArraySerializer(), new ByteArraySerializer(), applyParents);
        }
        topology.addSink(DEAD_LETTERS, plan.topics().deadLetters(), new ByteArraySerializer(), new ByteArraySerializer(), applyParents);
        return topology;
    }



    public static String sinkName(String service) {
        return "apply-" + service;
    }

    public static String deadLetterSink() {
        return DEAD_LETTERS;
    }
}
