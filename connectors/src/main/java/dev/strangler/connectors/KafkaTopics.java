package dev.strangler.connectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Creates the topics Strangler needs when they are missing; existing topics are left as they are. */
public final class KafkaTopics {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaTopics.class);

    /**
     * Largest record Strangler's topics and producers accept: a row with large text or bytea values
     * (1 MB is common) must fit in one change event.
     */
    public static final int MAX_RECORD_BYTES = 64 * 1024 * 1024;

    private final KafkaEndpoint kafka;

    public KafkaTopics(KafkaEndpoint kafka) {
        this.kafka = kafka;
    }

    /** Topics with {@code cleanup.policy=delete}. */
    public void ensureLog(Set<String> names, int partitions) {
        Map<String, Integer> partitionsByTopic = new LinkedHashMap<>();
        names.forEach(name -> partitionsByTopic.put(name, partitions));
        ensureLogs(partitionsByTopic);
    }

    /** Topics with {@code cleanup.policy=delete}, each with its number of partitions, made with one admin request. */
    public void ensureLogs(Map<String, Integer> partitionsByTopic) {
        ensure(partitionsByTopic, Map.of("max.message.bytes", String.valueOf(MAX_RECORD_BYTES)));
    }

    /** Topics with {@code cleanup.policy=compact} (control topics: rules, routes, validation). */
    public void ensureCompacted(Set<String> names) {
        Map<String, Integer> partitionsByTopic = new LinkedHashMap<>();
        names.forEach(name -> partitionsByTopic.put(name, 1));
        ensure(partitionsByTopic, Map.of("cleanup.policy", "compact"));
    }

    /**
     * A topic's partitions as a consumer sees them. A topic created a moment ago may not be in the
     * broker's metadata yet, and {@code partitionsFor} then answers an empty list (seen: the router
     * following its routes topic assigned nothing and never saw a weight change; the writer with 200
     * tables): wait for the partitions rather than assign nothing.
     *
     * @throws IllegalStateException when the topic has no partitions within {@code timeout}
     */
    public static List<org.apache.kafka.common.TopicPartition> partitionsOf(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer,
                                                                           String topic, java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<org.apache.kafka.common.TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            if (!partitions.isEmpty()) {
                return partitions;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + topic + " has no partitions in Kafka's metadata after " + timeout.toSeconds()
                        + " s: does it exist? (strangler run creates it; check the broker and the topic prefix)");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the partitions of " + topic, e);
            }
        }
    }

    /** A topic's {@code retention.ms} as the broker applies it (its own setting or the broker's default); -1: kept forever. */
    public long retentionMs(String topic) {
        var resource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
        return withAdmin("read the configuration of topic " + topic, admin -> {
            var entry = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource).get("retention.ms");
            return entry == null || entry.value() == null ? -1L : Long.parseLong(entry.value());
        });
    }

    /** A partition whose records after a consumer group's committed offset were deleted before the group read them. */
    public record DeletedUnread(org.apache.kafka.common.TopicPartition partition, long committed, long firstLeft) {
        @Override
        public String toString() {
            return partition + " committed " + committed + ", first record left " + firstLeft;
        }
    }

    /**
     * The partitions of {@code topics} on which a consumer group's committed offset lies before the first record the
     * topic still holds: retention (or someone) deleted records the group had not read. A group that has committed
     * nothing yet has no such partition.
     */
    public List<DeletedUnread> deletedUnread(String group, Set<String> topics) {
        return withAdmin("read the offsets of consumer group " + group, admin -> {
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed = new LinkedHashMap<>();
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).forEach((tp, offset) -> {
                if (offset != null && topics.contains(tp.topic())) {
                    committed.put(tp, offset);
                }
            });
            if (committed.isEmpty()) {
                return List.of();
            }
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> earliest = new LinkedHashMap<>();
            committed.keySet().forEach(tp -> earliest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.earliest()));
            var firstLeft = admin.listOffsets(earliest).all().get(30, TimeUnit.SECONDS);
            List<DeletedUnread> deleted = new ArrayList<>();
            committed.forEach((tp, offset) -> {
                long first = firstLeft.get(tp).offset();
                if (offset.offset() < first) {
                    deleted.add(new DeletedUnread(tp, offset.offset(), first));
                }
            });
            return deleted;
        });
    }

    /** Reads every record of a topic, from its beginning to its end as it is now (control topics: small, compacted). */
    public void readToEnd(String topic, java.util.function.Consumer<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> each) {
        Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-reader-" + topic));
        config.put("enable.auto.commit", "false");
        // records of aborted transactions (a replay cut short) are not there
        config.put("isolation.level", "read_committed");
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(config,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = partitionsOf(consumer, topic, java.time.Duration.ofSeconds(30));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(java.time.Duration.ofMillis(200)).forEach(each);
            }
        }
    }

    private void ensure(Map<String, Integer> partitionsByTopic, Map<String, String> config) {
        withAdmin("create topics " + partitionsByTopic.keySet(), admin -> {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            partitionsByTopic.forEach((name, partitions) -> {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, partitions, kafka.replicationFactor()).configs(config));
                }
            });
            if (missing.isEmpty()) {
                return null;
            }
            try {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
            return null;
        });
    }

    /** One admin request (or a few), with an admin client of its own; what it was doing named in the error. */
    private interface AdminCall<T> {
        T call(Admin admin) throws ExecutionException, TimeoutException, InterruptedException;
    }

    private <T> T withAdmin(String doing, AdminCall<T> call) {
        try (Admin admin = Admin.create(kafka.clientConfig())) {
            return call.call(admin);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot " + doing + " on " + kafka.bootstrapServers() + ": "
                    + (e.getCause() == null ? e : e.getCause()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + doing, e);
        }
    }
}
