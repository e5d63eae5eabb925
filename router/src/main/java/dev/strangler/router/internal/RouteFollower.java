package dev.strangler.router.internal;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.MetricNames;
import dev.strangler.router.RouteControl;
import dev.strangler.router.RouteState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Follows the routes topic from its beginning and hands every accepted state to its route. The
 * initial read to the end happens in {@link #start()}, so a router serves by the last state even when
 * nothing else is reachable; then a thread applies new records within a poll (tens of milliseconds).
 */
public final class RouteFollower implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RouteFollower.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final Map<String, LiveRoute> routes;
    private final MeterRegistry metrics;
    private final BiConsumer<String, RouteState> onStaleRejected;
    private Thread thread;
    private volatile boolean running;

    /**
     * @param onStaleRejected told when a conditional record (a ramp step) was computed from a state no
     *                        longer in force and did not take effect: route name and the state in force
     */
    public RouteFollower(KafkaEndpoint kafka, String topic, Map<String, LiveRoute> routes, MeterRegistry metrics,
                         BiConsumer<String, RouteState> onStaleRejected) {
        this.topic = topic;
        this.routes = Map.copyOf(routes);
        this.metrics = metrics;
        this.onStaleRejected = onStaleRejected;
        Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-router-follower", "enable.auto.commit", "false",
                "fetch.max.wait.ms", "100"));
        this.consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads the topic to its end (the state in force at start), then follows it on a thread. */
    public void start() {
        List<TopicPartition> partitions = KafkaTopics.partitionsOf(consumer, topic, Duration.ofSeconds(30));
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
            consumer.poll(Duration.ofMillis(200)).forEach(this::apply);
        }
        running = true;
        thread = new Thread(this::follow, "strangler-router-follower");
        thread.setDaemon(true);
        thread.start();
    }

    private void follow() {
        try {
            while (running) {
                consumer.poll(Duration.ofMillis(500)).forEach(this::apply);
            }
        } catch (WakeupException e) {
            // close() stops the loop
        } catch (RuntimeException e) {
            LOG.error("the router stopped following {}: weights stay as they are until a restart", topic, e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    void apply(ConsumerRecord<String, byte[]> record) {
        if (record.key() == null || record.value() == null) {
            return;
        }
        LiveRoute route = routes.get(record.key());
        if (route == null) {
            LOG.debug("routes topic has a record for route '{}', which this config does not have; ignored", record.key());
            return;
        }
        RouteState incoming;
        try {
            incoming = RouteState.fromJson(record.value());
        } catch (IllegalArgumentException e) {
            rejected(route.name(), "invalid");
            LOG.warn("route {}: record at {}-{}@{} {}; the state in force stays ({} weight {})", route.name(), record.topic(),
                    record.partition(), record.offset(), e.getMessage(), route.state().enabled() ? "enabled," : "disabled,", route.state().weight());
            return;
        }
        RouteState current = route.state();
        if (!RouteControl.accepts(current, incoming)) {
            rejected(route.name(), "stale");
            LOG.info("route {}: a ramp step computed from revision {} came after revision {} ({}); it does not take effect",
                    route.name(), incoming.revision() - 1, current.revision(), current.reason());
            onStaleRejected.accept(route.name(), current);
            return;
        }
        route.state(incoming);
        if (incoming.weight().basisPoints() != current.weight().basisPoints() || incoming.enabled() != current.enabled()) {
            LOG.info("route {}: weight {}{} ({} by {})", route.name(), incoming.weight(), incoming.enabled() ? "" : " (disabled)",
                    incoming.reason(), incoming.updatedBy());
        }
    }

    private void rejected(String route, String reason) {
        Counter.builder(MetricNames.ROUTER_STATE_REJECTED).tag(MetricNames.TAG_ROUTE, route).tag(MetricNames.TAG_REASON, reason)
                .description("routes-topic records that did not take effect").register(metrics).increment();
    }

    @Override
    public void close() {
        running = false;
        if (thread == null) {
            consumer.close(Duration.ofSeconds(2));
            return;
        }
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
