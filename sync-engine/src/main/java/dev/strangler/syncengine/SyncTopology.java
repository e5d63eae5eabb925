package dev.strangler.syncengine;

import dev.strangler.syncengine.internal.RouteProcessor;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The sync engine's Kafka Streams topology, built in one pure method that the running engine and
 * {@code TopologyTestDriver} tests both call.
 *
 * <pre>
 * cdc topics ──▶ route ──▶ apply.&lt;service&gt; (one sink per service)
 *                  │  └──▶ dlq (records that cannot be read or mapped)
 *                  └─ store "versions": last version per target key (drops replays)
 * </pre>
 */
public final class SyncTopology {

    public static final String VERSION_STORE = "versions";
    static final String SOURCE = "cdc";
    static final String ROUTE = "route";
    static final String DEAD_LETTERS = "dead-letters";

    private SyncTopology() {
    }

    public static Topology build(SyncPlan plan, MeterRegistry metrics) {
        Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), plan.sourceTopics().toArray(String[]::new));
        topology.addProcessor(ROUTE, () -> new RouteProcessor(plan, metrics), SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(VERSION_STORE), Serdes.String(), Serdes.Long()), ROUTE);
        for (String service : plan.services().stream().sorted().toList()) {
            topology.addSink(sinkName(service), plan.topics().apply(service), new ByteArraySerializer(), new ByteArraySerializer(), ROUTE);
        }
        topology.addSink(DEAD_LETTERS, plan.topics().deadLetters(), new ByteArraySerializer(), new ByteArraySerializer(), ROUTE);
        return topology;
    }

    public static String sinkName(String service) {
        return "apply-" + service;
    }

    public static String deadLetterSink() {
        return DEAD_LETTERS;
    }
}
