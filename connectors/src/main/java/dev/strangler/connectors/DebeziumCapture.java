package dev.strangler.connectors;

import dev.strangler.connectors.internal.CaptureOffsetStore;
import dev.strangler.connectors.internal.ConnectJson;
import dev.strangler.connectors.internal.JdbcUrls;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentState;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.CaptureSettings;
import dev.strangler.core.config.DatabaseSettings;
import dev.strangler.core.ComponentLifecycle;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.debezium.embedded.Connect;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * Captures row changes with the Debezium embedded engine and publishes them as standard Debezium JSON
 * envelopes to {@code <prefix>.cdc.<origin>.<schema>.<table>}, keyed by primary key. Subclasses say which
 * database and connector ({@link PostgresCapture}, {@link BinlogCapture}).
 *
 * <p>Events are written as Kafka's {@code JsonConverter} writes them without schemas, except that a
 * NULL column value stays NULL (JsonConverter's default replaces it with the column's default).
 *
 * <p>At-least-once by construction: a batch's source offsets are marked processed only after Kafka has
 * acknowledged every record of it, and the offsets live in Kafka ({@code <prefix>.capture-offsets.<origin>}),
 * so a restart resumes at the last acknowledged batch. Records a crash makes it send twice are dropped
 * downstream by version (the sync engine remembers each key's last version).
 */
public abstract class DebeziumCapture implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(DebeziumCapture.class);
    /** How long a stop waits for Debezium's tasks to finish starting before it gives up on closing the engine. */
    private static final Duration ENGINE_CLOSE_WAIT = Duration.ofSeconds(60);

    protected final String origin;
    protected final DatabaseSettings database;
    protected final CaptureSettings settings;
    protected final Set<TableId> tables;
    protected final KafkaEndpoint kafka;
    protected final TopicNames topics;
    protected final MeterRegistry metrics;
    private final Clock clock;
    protected final ComponentLifecycle state;
    private final Map<String, TableMeters> meters = new ConcurrentHashMap<>();
    private final AtomicLong heartbeats = new AtomicLong();
    private final String cdcTopicPrefix;
    protected final boolean transactionMetadata;
    protected final Map<TableId, List<String>> keyColumns;
    private final String transactionTopic;
    private final String signalTopic;

    private KafkaProducer<byte[], byte[]> producer;
    private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    private ExecutorService executor;

    /**
     * @param transactionMetadata publish Debezium's transaction metadata (BEGIN/END on
     *                            {@code <prefix>.cdc.<origin>.transaction}, and each change's place in its
     *                            transaction), which transaction-consistent apply needs
     * @param keyColumns          for tables without a primary key, the configured columns that identify a row
     *                            (Debezium's {@code message.key.columns})
     * @param signalTopic         the topic of the signalling table's events, read but not published; null when none
     */
    protected DebeziumCapture(String origin, DatabaseSettings database, CaptureSettings settings, Set<TableId> tables,
                              Map<TableId, List<String>> keyColumns, boolean transactionMetadata, KafkaEndpoint kafka, TopicNames topics,
                              MeterRegistry metrics, Clock clock, String signalTopic) {
        this.keyColumns = Map.copyOf(keyColumns);
        this.transactionMetadata = transactionMetadata;
        this.origin = origin;
        this.database = database;
        this.settings = settings;
        this.tables = Set.copyOf(tables);
        this.kafka = kafka;
        this.topics = topics;
        this.metrics = metrics;
        this.clock = clock;
        this.state = new ComponentLifecycle("capture " + origin);
        this.cdcTopicPrefix = topics.cdcPrefix(origin) + ".";
        this.transactionTopic = topics.transactions(origin);
        this.signalTopic = signalTopic;
    }

    /** Work before the engine starts (tables the connector needs, publications); throws to fail the start. */
    protected abstract void beforeEngineStart();

    /** The connector's own settings: class, connection, what to capture, how values are represented. */
    protected abstract void connectorProperties(Properties p);

    /** Work once the connector's task runs (its slot or binlog position exists). */
    protected void onTaskStarted() {
    }

    @Override
    public String name() {
        return "capture:" + origin;
    }

    @Override
    public ComponentState state() {
        return state.get();
    }

    @Override
    public Optional<String> failure() {
        return state.failure();
    }

    /** Starts capturing in the background; topics must exist (see {@link KafkaTopics}). */
    public synchronized void start() {
        state.moveTo(ComponentState.STARTING);
        beforeEngineStart();
        Map<String, Object> producerConfig = kafka.clientConfig(Map.of(
                "linger.ms", "2",
                "batch.size", String.valueOf(256 * 1024),
                "max.request.size", String.valueOf(KafkaTopics.MAX_RECORD_BYTES),
                "client.id", "strangler-capture-" + origin));
        producerConfig.put("acks", "all");
        producerConfig.put("enable.idempotence", "true");
        producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer());

        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(engineProperties())
                .notifying(this::handleBatch)
                .using((success, message, error) -> {
                    if (!success && state.get() != ComponentState.STOPPING) {
                        String reason = message + (error == null ? "" : ": " + rootMessage(error));
                        LOG.error("capture {} stopped: {}", origin, reason, error);
                        state.fail(reason);
                    }
                })
                .using(new DebeziumEngine.ConnectorCallback() {
                    @Override
                    public void taskStarted() {
                        onTaskStarted();
                        state.tryMoveTo(ComponentState.RUNNING);
                        LOG.info("capture {} running on {} ({} tables)", origin, database.url(), tables.size());
                    }
                })
                .build();
        executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "strangler-capture-" + origin));
        executor.execute(() -> {
            MDC.put("component", name());
            engine.run();
        });
    }

    private Properties engineProperties() {
        Properties p = new Properties();
        p.setProperty("name", "strangler-" + origin);
        p.setProperty("topic.prefix", topics.cdcPrefix(origin));
        connectorProperties(p);
        if (!keyColumns.isEmpty()) {
            p.setProperty("message.key.columns", keyColumns.entrySet().stream()
                    .map(e -> e.getKey().schema() + "\\." + e.getKey().table() + ":" + String.join(",", e.getValue()))
                    .collect(java.util.stream.Collectors.joining(";")));
        }
        p.setProperty("poll.interval.ms", String.valueOf(settings.pollInterval().toMillis()));
        p.setProperty("heartbeat.interval.ms", String.valueOf(settings.heartbeatInterval().toMillis()));
        p.setProperty("topic.heartbeat.prefix", topics.prefix() + ".heartbeat");
        // Values travel as text a database can parse back exactly (docs/configuration.md, "How values travel").
        p.setProperty("decimal.handling.mode", "string");
        p.setProperty("time.precision.mode", "isostring");
        // bytes, not base64: with base64 Debezium 3.4 sends an unchanged TOASTed bytea as null instead of its
        // placeholder (ColumnTypesIT); ConnectJson writes bytes as base64 itself
        p.setProperty("binary.handling.mode", "bytes");
        p.setProperty("tombstones.on.delete", "false");
        // TRUNCATE arrives as an event (Debezium skips it by default): the sync engine carries it, ignores it or
        // stops, per table (onTruncate), instead of the service silently keeping the rows
        p.setProperty("skipped.operations", "none");
        p.setProperty("provide.transaction.metadata", String.valueOf(transactionMetadata));
        p.setProperty("max.batch.size", "8192");
        p.setProperty("max.queue.size", "32768");
        // Debezium's own Kafka offset store leaves its admin client running after the engine stops; this one closes it
        p.setProperty("offset.storage", CaptureOffsetStore.class.getName());
        p.setProperty("offset.storage.topic", topics.captureOffsets(origin));
        p.setProperty("offset.storage.partitions", "1");
        p.setProperty("offset.storage.replication.factor", String.valueOf(kafka.replicationFactor()));
        p.setProperty("offset.flush.interval.ms", "1000");
        p.setProperty("offset.flush.timeout.ms", "10000");
        kafka.clientConfig().forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        p.setProperty("errors.max.retries", "-1");
        p.setProperty("errors.retry.delay.initial.ms", "300");
        p.setProperty("errors.retry.delay.max.ms", "10000");
        return p;
    }

    private void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
                             DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
        AtomicReference<Exception> sendFailure = new AtomicReference<>();
        long nowMicros = clock.millis() * 1000;
        for (RecordChangeEvent<SourceRecord> event : records) {
            SourceRecord record = event.record();
            String topic = record.topic();
            if (!topic.startsWith(cdcTopicPrefix) || topic.equals(signalTopic)) {
                // heartbeats and signals (and any other bookkeeping record): their offsets count, they are not published
                heartbeats.incrementAndGet();
                continue;
            }
            byte[] key = ConnectJson.toBytes(record.keySchema(), record.key());
            byte[] value = ConnectJson.toBytes(record.valueSchema(), record.value());
            producer.send(new ProducerRecord<>(topic, key, value), (metadata, error) -> {
                if (error != null) {
                    sendFailure.compareAndSet(null, error);
                }
            });
            if (topic.equals(transactionTopic)) {
                continue;
            }
            TableMeters m = meters.computeIfAbsent(topic, this::metersFor);
            m.events.increment();
            if (record.value() instanceof Struct envelope && envelope.schema().field("source") != null) {
                Struct source = envelope.getStruct("source");
                Object tsUs = source.schema().field("ts_us") != null ? source.get("ts_us") : null;
                long commitMicros = tsUs instanceof Long l ? l : source.getInt64("ts_ms") * 1000;
                m.lagMillis.set(Math.max(0, (nowMicros - commitMicros) / 1000));
            }
        }
        producer.flush();
        if (sendFailure.get() != null) {
            // Nothing of this batch is marked processed: after the engine restarts, it is captured again.
            throw new IllegalStateException("Kafka did not accept change events from " + origin + ": "
                    + sendFailure.get().getMessage(), sendFailure.get());
        }
        for (RecordChangeEvent<SourceRecord> event : records) {
            committer.markProcessed(event);
        }
        committer.markBatchFinished();
    }

    private TableMeters metersFor(String topic) {
        String table = topic.substring(topics.cdcPrefix(origin).length() + 1);
        AtomicLong lag = new AtomicLong();
        metrics.gauge(MetricNames.CAPTURE_LAG, List.of(io.micrometer.core.instrument.Tag.of(MetricNames.TAG_ORIGIN, origin),
                io.micrometer.core.instrument.Tag.of(MetricNames.TAG_TABLE, table)), lag);
        return new TableMeters(Counter.builder(MetricNames.CAPTURE_EVENTS).tag(MetricNames.TAG_ORIGIN, origin).tag(MetricNames.TAG_TABLE, table)
                .description("change events captured and published").register(metrics), lag);
    }

    private record TableMeters(Counter events, AtomicLong lagMillis) {
    }

    /** Events captured so far, all tables. */
    public long capturedEvents() {
        return (long) meters.values().stream().mapToDouble(m -> m.events.count()).sum();
    }

    public synchronized void stop() {
        if (!state.tryMoveTo(ComponentState.STOPPING)) {
            return;
        }
        try {
            if (engine != null) {
                closeEngine();
            }
            if (executor != null) {
                executor.shutdown();
                if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                    LOG.warn("capture {} did not stop within 30 s", origin);
                }
            }
        } catch (Exception e) {
            LOG.warn("capture {} did not stop cleanly: {}", origin, e.toString());
        } finally {
            CaptureOffsetStore.stopLeftBehind(topics.captureOffsets(origin));
            if (producer != null) {
                producer.close(java.time.Duration.ofSeconds(10));
            }
            state.tryMoveTo(ComponentState.STOPPED);
        }
    }

    /**
     * Debezium's engine refuses to close while its tasks are starting ("Wait for the tasks to be fully started"):
     * asked again until it accepts. Giving up at the first refusal left the engine running after the pipeline had
     * stopped, holding the replication slot, with its producer closed under it.
     */
    private void closeEngine() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + ENGINE_CLOSE_WAIT.toNanos();
        boolean said = false;
        while (true) {
            try {
                engine.close();
                return;
            } catch (IllegalStateException refused) {
                String why = String.valueOf(refused.getMessage());
                if (why.contains("already")) {
                    return;    // "already being shut down" / "already shut down": it stopped on its own (a failure)
                }
                if (!why.contains("tasks are starting") || System.nanoTime() > deadline) {
                    throw refused;
                }
                if (!said) {
                    LOG.info("capture {}: Debezium's tasks are still starting; it stops once they have", origin);
                    said = true;
                }
                Thread.sleep(50);
            }
        }
    }

    protected static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }
}
