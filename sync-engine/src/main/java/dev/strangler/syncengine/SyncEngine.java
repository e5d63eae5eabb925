package dev.strangler.syncengine;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentState;
import dev.strangler.core.config.SyncSettings;
import dev.strangler.core.ComponentLifecycle;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Runs the {@link SyncTopology} as a Kafka Streams application with exactly-once processing
 * ({@code exactly_once_v2}): a cdc record's apply records, its version-store update and its input
 * offset commit in one Kafka transaction. Writers read the apply topics with {@code read_committed}.
 */
public final class SyncEngine implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(SyncEngine.class);

    private final SyncPlan plan;
    private final SyncSettings settings;
    private final KafkaEndpoint kafka;
    private final MeterRegistry metrics;
    private final ComponentLifecycle state = new ComponentLifecycle("sync engine");
    private KafkaStreams streams;
    private RuleBook rules;

    public SyncEngine(SyncPlan plan, SyncSettings settings, KafkaEndpoint kafka, MeterRegistry metrics) {
        this.plan = plan;
        this.settings = settings;
        this.kafka = kafka;
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "sync-engine";
    }

    @Override
    public ComponentState state() {
        return state.get();
    }

    @Override
    public Optional<String> failure() {
        return state.failure();
    }

    public synchronized void start() {
        state.moveTo(ComponentState.STARTING);
        Properties props = new Properties();
        kafka.clientConfig(Map.of(
                StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024),
                StreamsConfig.producerPrefix("linger.ms"), "2",
                StreamsConfig.producerPrefix("batch.size"), String.valueOf(256 * 1024),
                StreamsConfig.producerPrefix("max.request.size"), String.valueOf(dev.strangler.connectors.KafkaTopics.MAX_RECORD_BYTES),
                StreamsConfig.consumerPrefix("max.poll.records"), "5000",
                StreamsConfig.consumerPrefix("fetch.max.wait.ms"), "5")).forEach(props::put);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, plan.topics().syncApplicationId());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, String.valueOf(settings.commitInterval().toMillis()));
        props.put(StreamsConfig.STATE_DIR_CONFIG, settings.stateDir().toString());
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, String.valueOf(kafka.replicationFactor()));
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
        // static membership: a restarted process takes its place in the group at once
        props.put(StreamsConfig.mainConsumerPrefix("group.instance.id"), plan.topics().syncApplicationId() + "-" + settings.instanceId());
        rules = new RuleBook(metrics);
        if (!plan.twoWay().isEmpty()) {
            // the rules in force at start are read before the first change is processed
            rules.follow(kafka, plan.topics().rules(), Duration.ofSeconds(60));
        }
        leaveGroupAsLastTime(props.getProperty(StreamsConfig.mainConsumerPrefix("group.instance.id")));
        List<KafkaTopics.DeletedUnread> deleted = new KafkaTopics(kafka).deletedUnread(plan.topics().syncApplicationId(), inputTopics());
        if (!deleted.isEmpty()) {
            // Kafka Streams would start from the first record left (auto.offset.reset), the deleted changes never applied
            String why = "the sync engine's input no longer holds records it had not read: " + deleted + " (deleted by the topics' "
                    + "retention.ms/retention.bytes while it was stopped or behind). Those changes are missing downstream; it does not "
                    + "skip them by itself. Raise the topics' retention, move the group " + plan.topics().syncApplicationId()
                    + " to the first records left (kafka-consumer-groups.sh --reset-offsets --to-earliest --execute), start again "
                    + "and re-copy or repair the tables (operations.md, \"Topic retention\")";
            LOG.error("sync engine stopped: {}", why);
            state.fail(why);
            return;
        }
        streams = new KafkaStreams(SyncTopology.build(plan, settings.transactionTimeout(), kafka.partitions() == 1, metrics,
                rules, settings.conflictWindow()), props);
        streams.setStateListener((next, previous) -> {
            LOG.info("sync engine {} → {}", previous, next);
            if (next == KafkaStreams.State.RUNNING) {
                state.tryMoveTo(ComponentState.RUNNING);
            } else if (next == KafkaStreams.State.ERROR && state.failure().isEmpty()) {
                state.fail("Kafka Streams is in state ERROR; see the log for the exception");
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("sync engine failed: {}", e.toString(), e);
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            // the innermost message says what happened and what to do (a table's onError or onTruncate: stop)
            state.fail(root.getMessage() == null ? e.toString() : root.getMessage());
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.start();
    }

    /** Every topic the topology reads: each origin's cdc topics, and its transaction and sequencer topics. */
    private Set<String> inputTopics() {
        Set<String> topics = new LinkedHashSet<>();
        for (SyncPlan.Origin origin : plan.origins()) {
            topics.addAll(plan.sourceTopics(origin));
            if (origin.usesTransactions()) {
                topics.add(plan.topics().transactions(origin.name()));
                topics.add(plan.topics().sequencer(origin.name()));
            }
        }
        return topics;
    }

    /**
     * Static membership keeps a restarted member's old assignment without a rebalance, so a topic added to the
     * topology (a table added to the config) would not be read. The member this process was last time is
     * removed from the group first: the join then rebalances, at once (no session timeout to wait for).
     */
    private void leaveGroupAsLastTime(String instanceIdPrefix) {
        String group = plan.topics().syncApplicationId();
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(kafka.clientConfig())) {
            var description = admin.describeConsumerGroups(java.util.List.of(group)).all().get(30, java.util.concurrent.TimeUnit.SECONDS).get(group);
            var mine = description.members().stream()
                    .filter(m -> m.groupInstanceId().map(id -> id.startsWith(instanceIdPrefix)).orElse(false))
                    .map(m -> new org.apache.kafka.clients.admin.MemberToRemove(m.groupInstanceId().orElseThrow()))
                    .toList();
            if (!mine.isEmpty()) {
                admin.removeMembersFromConsumerGroup(group, new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions(mine))
                        .all().get(30, java.util.concurrent.TimeUnit.SECONDS);
                LOG.info("sync engine: removed this process's previous members {} from group {} before joining", mine.size(), group);
            }
        } catch (Exception e) {
            // a first start (no group yet) lands here too; joining works either way
            LOG.debug("sync engine: previous members of {} not removed: {}", group, e.toString());
        }
    }

    public synchronized void stop() {
        if (!state.tryMoveTo(ComponentState.STOPPING)) {
            return;
        }
        if (streams != null) {
            streams.close(Duration.ofSeconds(30));
        }
        if (rules != null) {
            rules.close();
        }
        state.tryMoveTo(ComponentState.STOPPED);
    }
}
