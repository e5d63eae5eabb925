package dev.strangler.syncengine;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.ConflictRule;
import dev.strangler.core.CustomConflictRule;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The conflict rules in force, read from the compacted topic {@code <prefix>.rules} (key: the monolith
 * table {@code schema.table}, or {@code *}; value: a {@link ConflictRule} as JSON; an empty value deletes
 * the key's rule). The sync engine follows the topic for as long as it runs, so a rule written by
 * {@code strangler rules set} or by any Kafka producer governs the conflicts decided after it arrives,
 * without a restart.
 *
 * <p>A record that is not a valid rule (bad JSON, unknown strategy, a custom class that cannot be loaded)
 * takes no effect: the key's previous rule stays in force, and the rejection is logged, counted in
 * {@link MetricNames#RULES_REJECTED} and shown by {@code strangler rules list} until a valid record for
 * the key replaces it.
 */
public final class RuleBook implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RuleBook.class);
    /** The key of the rule for every table without its own. */
    public static final String ANY_TABLE = "*";
    private static final Pattern TABLE_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*");

    /** What the topic says for one key: the rule in force (if any) and the last rejected record (if newer). */
    public record Entry(String key, ConflictRule rule, String rejected) {
    }

    private final Map<String, ConflictRule> inForce = new ConcurrentHashMap<>();
    private final Map<String, CustomConflictRule> customs = new ConcurrentHashMap<>();
    private final Map<String, String> rejected = new ConcurrentHashMap<>();
    private final MeterRegistry metrics;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile Thread thread;
    private volatile boolean closed;

    public RuleBook(MeterRegistry metrics) {
        this.metrics = metrics;
        Gauge.builder(MetricNames.RULES_IN_FORCE, inForce, Map::size).description("conflict rules in force").register(metrics);
    }

    /** Whether {@code key} can name a rule: {@code schema.table} or {@code *}. */
    public static Optional<String> checkKey(String key) {
        if (key == null || !(key.equals(ANY_TABLE) || TABLE_KEY.matcher(key).matches())) {
            return Optional.of("the key '" + key + "' is not schema.table or *");
        }
        return Optional.empty();
    }

    /**
     * Takes one record of the rules topic into account, in topic order.
     *
     * @return the reasons the record was rejected, empty when it took effect
     */
    public List<String> accept(String key, byte[] value) {
        Optional<String> badKey = checkKey(key);
        if (badKey.isPresent()) {
            return reject(String.valueOf(key), List.of(badKey.get()));
        }
        if (value == null || value.length == 0) {
            inForce.remove(key);
            customs.remove(key);
            rejected.remove(key);
            LOG.info("conflict rule for {} deleted; {} governs it now", key, key.equals(ANY_TABLE) ? "the default (last-writer-wins)" : "the * rule or the default");
            return List.of();
        }
        ConflictRule.Parsed parsed = ConflictRule.parse(value);
        if (!parsed.valid()) {
            return reject(key, parsed.problems());
        }
        ConflictRule rule = parsed.rule();
        if (rule.strategy() == ConflictRule.Strategy.CUSTOM) {
            try {
                customs.put(key, load(rule.className()));
            } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
                return reject(key, List.of("class: " + rule.className() + " cannot be loaded as a " + CustomConflictRule.class.getSimpleName()
                        + " (" + e + "); put its jar on the sync engine's classpath"));
            }
        } else {
            customs.remove(key);
        }
        inForce.put(key, rule);
        rejected.remove(key);
        LOG.info("conflict rule for {} in force: {}", key, rule.describe());
        return List.of();
    }

    private List<String> reject(String key, List<String> problems) {
        String reason = String.join("; ", problems);
        rejected.put(key, reason);
        Counter.builder(MetricNames.RULES_REJECTED).tag(MetricNames.TAG_TABLE, key)
                .description("rules-topic records rejected (kept out of effect)").register(metrics).increment();
        ConflictRule still = inForce.get(key);
        LOG.warn("rules record for {} rejected, {} stays in force: {}", key, still == null ? "no rule of its own" : still.describe(), reason);
        return problems;
    }

    private static CustomConflictRule load(String className) throws ReflectiveOperationException {
        Class<?> type = Class.forName(className, true, Thread.currentThread().getContextClassLoader() == null
                ? RuleBook.class.getClassLoader() : Thread.currentThread().getContextClassLoader());
        return (CustomConflictRule) type.getDeclaredConstructor().newInstance();
    }

    /** The rule governing a monolith table: its own, else the {@code *} rule, else last-writer-wins. */
    public ConflictRule ruleFor(TableId table) {
        ConflictRule rule = inForce.get(table.toString());
        if (rule == null) {
            rule = inForce.get(ANY_TABLE);
        }
        return rule == null ? ConflictRule.DEFAULT : rule;
    }

    /** Which key's rule governs a table: the table's, {@code *}, or {@code default}. */
    public String ruleKeyFor(TableId table) {
        return inForce.containsKey(table.toString()) ? table.toString() : inForce.containsKey(ANY_TABLE) ? ANY_TABLE : "default";
    }

    /** The loaded class of a table's custom rule, if that is what governs it. */
    public CustomConflictRule customFor(TableId table) {
        CustomConflictRule custom = customs.get(table.toString());
        return custom != null || inForce.containsKey(table.toString()) ? custom : customs.get(ANY_TABLE);
    }

    /** Every key the topic names, in key order. */
    public List<Entry> entries() {
        Map<String, Entry> out = new TreeMap<>();
        inForce.forEach((k, r) -> out.put(k, new Entry(k, r, rejected.get(k))));
        rejected.forEach((k, reason) -> out.putIfAbsent(k, new Entry(k, null, reason)));
        return List.copyOf(out.values());
    }

    /**
     * Reads the topic to its end (the rules in force at start), then follows it in the background.
     *
     * @throws IllegalStateException when the topic cannot be read within the timeout
     */
    public void follow(KafkaEndpoint kafka, String topic, Duration startTimeout) {
        Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-rules-" + topic));
        config.put("enable.auto.commit", "false");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = KafkaTopics.partitionsOf(c, topic, startTimeout);
        c.assign(partitions);
        c.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = c.endOffsets(partitions, startTimeout);
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (partitions.stream().anyMatch(p -> c.position(p) < end.get(p))) {
            if (System.nanoTime() > deadline) {
                c.close();
                throw new IllegalStateException("cannot read the rules topic " + topic + " to its end within " + startTimeout);
            }
            c.poll(Duration.ofMillis(100)).forEach(this::accept);
        }
        consumer = c;
        thread = new Thread(() -> {
            try {
                while (!closed) {
                    c.poll(Duration.ofMillis(500)).forEach(this::accept);
                }
            } catch (WakeupException e) {
                // closing
            } finally {
                c.close(Duration.ofSeconds(5));
            }
        }, "strangler-rules");
        thread.setDaemon(true);
        thread.start();
        LOG.info("conflict rules from {}: {} in force", topic, inForce.size());
    }

    private void accept(ConsumerRecord<byte[], byte[]> record) {
        accept(record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8), record.value());
    }

    @Override
    public void close() {
        closed = true;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        Thread t = thread;
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
