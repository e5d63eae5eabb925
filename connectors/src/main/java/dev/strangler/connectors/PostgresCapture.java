package dev.strangler.connectors;

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

import java.time.Clock;
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
 * Captures row changes from a PostgreSQL monolith with the Debezium embedded engine (pgoutput) and
 * publishes them as standard Debezium JSON envelopes to {@code <prefix>.cdc.<origin>.<schema>.<table>},
 * keyed by primary key.
 *
 * <p>Events are written as Kafka's {@code JsonConverter} writes them without schemas, except that a
 * NULL column value stays NULL (JsonConverter's default replaces it with the column's default).
 *
 * <p>At-least-once by construction: a batch's source offsets are marked processed only after Kafka has
 * acknowledged every record of it, and the offsets live in Kafka ({@code <prefix>.capture-offsets.<origin>}),
 * so a restart resumes at the last acknowledged batch. Records a crash makes it send twice are dropped
 * downstream by version (the sync engine remembers each key's last version).
 */
public final class PostgresCapture implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresCapture.class);

    /**
     * Tables the capture reads but whose rows it does not publish (as Debezium names them in a transaction's
     * {@code data_collections}): the signalling table, where Debezium also marks an incremental snapshot's
     * chunk windows. A transaction of only these carries nothing to apply.
     */
    public static final Set<String> UNPUBLISHED_TABLES = Set.of(dev.strangler.connectors.internal.PostgresDialect.SIGNAL_TABLE_ID.toString());

    private final String origin;
    private final DatabaseSettings database;
    private final CaptureSettings settings;
    private final Set<TableId> tables;
    private final KafkaEndpoint kafka;
    private final TopicNames topics;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final ComponentLifecycle state;
    private final Map<String, TableMeters> meters = new ConcurrentHashMap<>();
    private final AtomicLong heartbeats = new AtomicLong();
    private final String cdcTopicPrefix;
    private final boolean transactionMetadata;
    private final Map<TableId, List<String>> keyColumns;
    private final String transactionTopic;
    private final String signalTopic;

    private KafkaProducer<byte[], byte[]> producer;
    private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    private ExecutorService executor;

    /**
     * @param transactionMetadata publish Debezium's transaction metadata (BEGIN/END on
     *                            {@code <prefix>.cdc.<origin>.transaction}, and each change's place in its
     *                            transaction), which transaction-consistent apply needs
     */
    public PostgresCapture(String origin, DatabaseSettings database, CaptureSettings settings, Set<TableId> tables,
                           boolean transactionMetadata, KafkaEndpoint kafka, TopicNames topics, MeterRegistry metrics, Clock clock) {
        this(origin, database, settings, tables, Map.of(), transactionMetadata, kafka, topics, metrics, clock);
    }

    /**
     * @param keyColumns for tables without a primary key, the configured columns that identify a row
     *                   (Debezium's {@code message.key.columns})
     */
    public PostgresCapture(String origin, DatabaseSettings database, CaptureSettings settings, Set<TableId> tables,
                           Map<TableId, List<String>> keyColumns, boolean transactionMetadata, KafkaEndpoint kafka, TopicNames topics,
                           MeterRegistry metrics, Clock clock) {
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
        this.signalTopic = topics.cdc(origin, dev.strangler.connectors.internal.PostgresDialect.SIGNAL_TABLE_ID);
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
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            try (java.sql.Connection c = StartupChecks.connect(database); java.sql.Statement s = c.createStatement()) {
                s.execute(dev.strangler.connectors.internal.PostgresDialect.createSignalTable());
            } catch (java.sql.SQLException e) {
                state.fail(e.getMessage());
                throw new IllegalStateException("cannot create the signalling table public.strangler_signal in the monolith ("
                        + database.url() + "): " + e.getMessage() + "; grant CREATE on schema public, or create it: "
                        + dev.strangler.connectors.internal.PostgresDialect.createSignalTable(), e);
            }
        }
        alignPublication();
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            dev.strangler.connectors.internal.SnapshotProgress.register(metrics, topics.cdcPrefix(origin),
                    dev.strangler.connectors.internal.SnapshotProgress.estimates(c, tables));
        } catch (java.sql.SQLException e) {
            LOG.warn("capture {}: no row estimates for the initial copy's progress: {}", origin, e.getMessage());
        }
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
                        if (settings.snapshot() == CaptureSettings.SnapshotMode.INCREMENTAL && origin.equals(TopicNames.MONOLITH_ORIGIN)) {
                            requestInitialCopy();
                        }
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
        JdbcUrls url = JdbcUrls.parsePostgres(database.url());
        Properties p = new Properties();
        p.setProperty("name", "strangler-" + origin);
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("database.hostname", url.host());
        p.setProperty("database.port", String.valueOf(url.port()));
        p.setProperty("database.dbname", url.database());
        p.setProperty("database.user", database.user());
        p.setProperty("database.password", database.password().reveal());
        p.setProperty("topic.prefix", topics.cdcPrefix(origin));
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", settings.slotName());
        p.setProperty("publication.name", settings.publicationName());
        p.setProperty("publication.autocreate.mode", "filtered");
        // a partitioned table's changes arrive as the table itself, not as its partitions
        p.setProperty("publish.via.partition.root", "true");
        if (!keyColumns.isEmpty()) {
            p.setProperty("message.key.columns", keyColumns.entrySet().stream()
                    .map(e -> e.getKey().schema() + "\\." + e.getKey().table() + ":" + String.join(",", e.getValue()))
                    .collect(java.util.stream.Collectors.joining(";")));
        }
        // the signalling table is captured too (Debezium reads its execute-snapshot rows from the stream); its
        // events are not published
        java.util.Set<TableId> included = includedTables();
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            p.setProperty("signal.enabled.channels", "source");
            p.setProperty("signal.data.collection", dev.strangler.connectors.internal.PostgresDialect.SIGNAL_TABLE_ID.toString());
            p.setProperty("incremental.snapshot.chunk.size", "1024");
        }
        p.setProperty("table.include.list", included.stream().map(t -> "^" + t.schema() + "\\." + t.table() + "$")
                .collect(Collectors.joining(",")));
        // INCREMENTAL: no blocking snapshot; the copy is requested through the signalling table once streaming runs
        p.setProperty("snapshot.mode", settings.snapshot() == CaptureSettings.SnapshotMode.INITIAL ? "initial" : "no_data");
        p.setProperty("poll.interval.ms", String.valueOf(settings.pollInterval().toMillis()));
        p.setProperty("heartbeat.interval.ms", String.valueOf(settings.heartbeatInterval().toMillis()));
        p.setProperty("topic.heartbeat.prefix", topics.prefix() + ".heartbeat");
        // Values travel as text a database can parse back exactly (docs/configuration.md, "How values travel").
        p.setProperty("decimal.handling.mode", "string");
        p.setProperty("time.precision.mode", "isostring");
        p.setProperty("interval.handling.mode", "string");
        // bytes, not base64: with base64 Debezium 3.4 sends an unchanged TOASTed bytea as null instead of its
        // placeholder (ColumnTypesIT); ConnectJson writes bytes as base64 itself
        p.setProperty("binary.handling.mode", "bytes");
        p.setProperty("hstore.handling.mode", "json");
        p.setProperty("tombstones.on.delete", "false");
        // TRUNCATE arrives as an event (Debezium skips it by default): the sync engine carries it, ignores it or
        // stops, per table (onTruncate), instead of the service silently keeping the rows
        p.setProperty("skipped.operations", "none");
        p.setProperty("provide.transaction.metadata", String.valueOf(transactionMetadata));
        p.setProperty("max.batch.size", "8192");
        p.setProperty("max.queue.size", "32768");
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore");
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

    /** The tables this capture reads: the configured ones, and on the monolith the signalling table. */
    private java.util.Set<TableId> includedTables() {
        java.util.Set<TableId> included = new java.util.LinkedHashSet<>(tables);
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            included.add(dev.strangler.connectors.internal.PostgresDialect.SIGNAL_TABLE_ID);
        }
        return included;
    }

    /**
     * A table added to the config must be in the publication before the replication stream starts: a
     * walsender that already streams does not see a table added to its publication later (Debezium's own
     * update of the publication comes after the stream started). Existing publications are set to the
     * captured tables here; a missing one Debezium creates.
     */
    private void alignPublication() {
        java.util.Set<TableId> included = includedTables();
        try (java.sql.Connection c = StartupChecks.connect(database);
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, settings.publicationName());
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getLong(1) == 0) {
                    return;
                }
            }
            try (java.sql.Statement s = c.createStatement()) {
                s.execute("ALTER PUBLICATION " + PostgresNames.quote(settings.publicationName()) + " SET TABLE "
                        + included.stream().map(PostgresNames::qualified).collect(Collectors.joining(", ")));
            }
        } catch (java.sql.SQLException e) {
            LOG.warn("capture {}: could not set the tables of publication {}: {}; Debezium will try", origin, settings.publicationName(), e.getMessage());
        }
    }

    /**
     * Asks the capture of the monolith at {@code database} to copy the existing rows of {@code tables} again, in
     * chunks, while changes keep streaming (a Debezium incremental snapshot, resumed after a restart from the
     * last chunk). The tables must be captured (in the config) already.
     *
     * @return the signal's id
     */
    public static String requestSnapshot(dev.strangler.core.config.DatabaseSettings database, java.util.List<TableId> tables) throws java.sql.SQLException {
        String id = java.util.UUID.randomUUID().toString();
        String data = "{\"data-collections\": [" + tables.stream().map(t -> "\"" + t + "\"").collect(Collectors.joining(", "))
                + "], \"type\": \"incremental\"}";
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            try (java.sql.Statement s = c.createStatement()) {
                s.execute(dev.strangler.connectors.internal.PostgresDialect.createSignalTable());
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement(dev.strangler.connectors.internal.PostgresDialect.insertSnapshotSignal())) {
                ps.setString(1, id);
                ps.setString(2, data);
                ps.executeUpdate();
            }
        }
        return id;
    }

    /**
     * The id of the signal that asks for the initial incremental copy of the tables this slot captures. One per
     * slot: {@code strangler reset} (which drops the slot) deletes it, so a fresh start copies again.
     */
    public static String initialCopySignalId(CaptureSettings settings) {
        return "strangler-initial-copy-" + settings.slotName();
    }

    /**
     * Asks for the initial copy, once in the slot's life: the signal row has a fixed id, so a restart (with the
     * copy done, running or resumable from the offsets) inserts nothing. Runs after the task started, when
     * the slot exists, so that the signal's row is in the stream the capture reads.
     */
    private void requestInitialCopy() {
        String data = "{\"data-collections\": [" + tables.stream().map(t -> "\"" + t + "\"").sorted().collect(Collectors.joining(", "))
                + "], \"type\": \"incremental\"}";
        try (java.sql.Connection c = StartupChecks.connect(database);
             java.sql.PreparedStatement ps = c.prepareStatement(dev.strangler.connectors.internal.PostgresDialect.insertSnapshotSignal()
                     + " ON CONFLICT (id) DO NOTHING")) {
            ps.setString(1, initialCopySignalId(settings));
            ps.setString(2, data);
            if (ps.executeUpdate() == 1) {
                LOG.info("capture {}: initial copy of {} tables requested (incremental, in chunks of 1,024 rows while changes stream)",
                        origin, tables.size());
            }
        } catch (java.sql.SQLException e) {
            state.fail("cannot request the initial copy: " + e.getMessage());
            throw new IllegalStateException("capture " + origin + ": cannot write the initial copy's signal into public.strangler_signal ("
                    + database.url() + "): " + e.getMessage(), e);
        }
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
                engine.close();
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
            if (producer != null) {
                producer.close(java.time.Duration.ofSeconds(10));
            }
            state.tryMoveTo(ComponentState.STOPPED);
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }
}
