package dev.strangler.syncengine;

import dev.strangler.core.MetricNames;
import dev.strangler.syncengine.internal.BeforeCommitHook;
import dev.strangler.syncengine.internal.ConflictResolver;
import dev.strangler.syncengine.internal.RouteProcessor;
import dev.strangler.syncengine.internal.SequencerProcessor;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    /**
     * Changelog topics of stores that hold whole changes (a row may be megabytes): records as large as the
     * capture's topics take; the broker's default (1 MB) failed the engine when a transaction holding a
     * 1 MB value was still pending at a commit.
     */
    private static final java.util.Map<String, String> LARGE_RECORDS = java.util.Map.of("max.message.bytes",
            String.valueOf(dev.strangler.connectors.KafkaTopics.MAX_RECORD_BYTES));
    public static final String CONFLICT_STORE = "conflicts";
    public static final String CONFLICTS_SINK = "conflict-audit";

    private SyncTopology() {
    }

    /**
     * @param singlePartition every cdc topic has one partition: the sequencer then sits in the route
     *                        processor's task and gets its changes directly; otherwise they travel
     *                        through the one-partition sequencer topic (a Kafka hop more)
     */
    public static Topology build(SyncPlan plan, Duration transactionTimeout, boolean singlePartition, MeterRegistry metrics) {
        return build(plan, transactionTimeout, singlePartition, metrics, new RuleBook(metrics), Duration.ofSeconds(10));
    }

    /**
     * The topology for every origin of the plan. With two-way tables, each two-way service is an origin too
     * (its own route processor and sequencer, names suffixed with {@code -<service>}), and the sequencers of
     * all origins share the store "conflicts" (so they run in one task: their inputs have one partition).
     *
     * @param rules          the conflict rules in force (followed from the rules topic while the engine runs)
     * @param conflictWindow two origins' changes of one row at most this far apart (commit time) conflict
     */
    public static Topology build(SyncPlan plan, Duration transactionTimeout, boolean singlePartition, MeterRegistry metrics,
                                 RuleBook rules, Duration conflictWindow) {
        Topology topology = new Topology();
        boolean twoWay = !plan.twoWay().isEmpty();
        List<String> applyParents = new ArrayList<>();
        List<String> sequencers = new ArrayList<>();
        AtomicLong pending = plan.usesTransactions() ? metrics.gauge(MetricNames.SYNC_TRANSACTIONS_PENDING, new AtomicLong()) : null;
        for (SyncPlan.Origin origin : plan.origins()) {
            String suffix = origin.monolith() ? "" : "-" + origin.name();
            String source = SOURCE + suffix;
            String route = ROUTE + suffix;
            String versions = VERSION_STORE + suffix;
            String sequencer = SEQUENCER + suffix;
            boolean sequencing = origin.usesTransactions();
            String sequencerTarget = singlePartition ? sequencer : SEQUENCER_SINK + suffix;
            topology.addSource(source, new ByteArrayDeserializer(), new ByteArrayDeserializer(), plan.sourceTopics(origin).toArray(String[]::new));
            topology.addProcessor(route, () -> new RouteProcessor(origin, metrics, sequencerTarget, versions), source);
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(versions), Serdes.String(), Serdes.Long()), route);
            applyParents.add(route);
            if (!sequencing) {
                continue;
            }
            String transactions = plan.topics().transactions(origin.name());
            String transactionsSource = TRANSACTIONS_SOURCE + suffix;
            String store = SEQUENCER_STORE + suffix;
            String hook = SEQUENCER_COMMIT_HOOK + suffix;
            SyncPlan.Origin markers = origin.capturesMarker() ? origin : null;
            java.util.function.Supplier<SequencerProcessor> supplier = () -> new SequencerProcessor(markers, store, hook,
                    twoWay ? new ConflictResolver(plan, rules, conflictWindow, metrics) : null, transactions, transactionTimeout, metrics, pending);
            topology.addSource(transactionsSource, new ByteArrayDeserializer(), new ByteArrayDeserializer(), transactions);
            if (singlePartition) {
                topology.addProcessor(sequencer, supplier::get, route, transactionsSource);
            } else {
                String sequencedSource = SEQUENCED_SOURCE + suffix;
                topology.addSink(SEQUENCER_SINK + suffix, plan.topics().sequencer(origin.name()), new ByteArraySerializer(), new ByteArraySerializer(), route);
                topology.addSource(sequencedSource, new ByteArrayDeserializer(), new ByteArrayDeserializer(), plan.topics().sequencer(origin.name()));
                topology.addProcessor(sequencer, supplier::get, sequencedSource, transactionsSource);
            }
            // Pending transactions live in the processor's memory; the store (in memory, changelogged) gets
            // only those still pending at a commit, written by the commit hook.
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(store), Serdes.String(), Serdes.ByteArray())
                    .withCachingDisabled().withLoggingEnabled(LARGE_RECORDS), sequencer);
            topology.addStateStore(BeforeCommitHook.builder(hook), sequencer);
            applyParents.add(sequencer);
            sequencers.add(sequencer);
        }
        String[] parents = applyParents.toArray(String[]::new);
        for (String service : plan.services().stream().sorted().toList()) {
            topology.addSink(sinkName(service), plan.topics().apply(service), new ByteArraySerializer(), new ByteArraySerializer(), parents);
        }
        topology.addSink(DEAD_LETTERS, plan.topics().deadLetters(), new ByteArraySerializer(), new ByteArraySerializer(), parents);
        if (twoWay) {
            // one store for every origin's sequencer: a row's changes from both origins meet in it
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CONFLICT_STORE), Serdes.String(), Serdes.ByteArray())
                    .withCachingDisabled().withLoggingEnabled(LARGE_RECORDS), sequencers.toArray(String[]::new));
            topology.addSink(CONFLICTS_SINK, plan.topics().conflicts(), new ByteArraySerializer(), new ByteArraySerializer(),
                    sequencers.toArray(String[]::new));
        }
        return topology;
    }

    public static String sinkName(String service) {
        return "apply-" + service;
    }

    public static String deadLetterSink() {
        return DEAD_LETTERS;
    }
}
