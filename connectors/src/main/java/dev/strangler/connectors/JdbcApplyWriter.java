package dev.strangler.connectors;

import dev.strangler.connectors.internal.ApplyBatch;
import dev.strangler.connectors.internal.ForeignKeyOrder;
import dev.strangler.connectors.internal.WriterDialect;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentState;
import dev.strangler.core.DeadLetter;
import dev.strangler.core.MalformedChangeException;
import dev.strangler.core.MetricNames;
import dev.strangler.core.Strings;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.TransactionCommit;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.TableRoute;
import dev.strangler.core.config.WriterSettings;
import dev.strangler.core.ComponentLifecycle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes the rows of {@code <prefix>.apply.<service>} into the service database, exactly once.
 *
 * <p>Each poll of the apply topic becomes one target transaction that holds the rows <em>and</em> the
 * Kafka offset just past them, in the {@code strangler_offsets} table. Rows of transaction-consistent
 * tables arrive as whole source transactions closed by a {@link TransactionCommit} marker; a target
 * transaction only ends at such a marker (or after rows that belong to no open transaction), so a
 * reader never sees part of a source transaction. Rows after the last such point wait for the next poll. On start the writer seeks to
 * the offsets stored there, not to Kafka's committed offsets, so a crash at any point replays nothing
 * that was committed and skips nothing that was not. Each row also carries its source version in
 * {@code strangler_version}; an upsert or delete never replaces a newer version.
 *
 * <p>Within one transaction, the changes of one key collapse to the newest; deletes run first (child
 * tables first), then upserts (parent tables first), in the order the foreign keys among the service's
 * tables give ({@link ForeignKeyOrder}; config order where they say nothing). A cycle of deferrable
 * keys is checked at commit; a cycle of immediate keys stops start-up with the ways out.
 *
 * <p>Failures: a lost connection, deadlock or similar is retried on a new connection from the stored
 * offsets. A row the database rejects is isolated with savepoints and the rest of the transaction
 * commits. If the rejection is a foreign-key violation (a child before its parent: the initial copy,
 * per-row tables), the row is <em>parked</em> in {@code strangler_parked}, in the same transaction, and
 * retried whenever a related table gets rows; a newer change of its key replaces it; after
 * {@code writer.parkTimeout} it goes to the dead-letter topic. Any other rejection goes to the
 * dead-letter topic at once, with the database's message.
 *
 * <p>Schema changes in the source (with {@link Options#source()}): a row the target rejects because a column is
 * missing, a value does not fit, or a NOT NULL column gets no value is checked against the source table as it is
 * now. A column the source added is added to the target; a column whose type the source widened is widened; a
 * column the source dropped is dropped; all in the writer's transaction, and the rows are written. A change
 * that cannot be followed safely (a column gone and another one new: a rename; a narrowing) is not: the rows are
 * rejected as before, with the reason.
 */
public final class JdbcApplyWriter implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcApplyWriter.class);

    /**
     * How the writer treats its target database.
     *
     * @param versionColumn the target tables keep {@code strangler_version} (service tables); false for the
     *                      monolith written back by two-way sync, whose tables Strangler does not alter
     * @param originMarker  the target is captured too (two-way): each writer transaction first updates this
     *                      writer's row in {@code strangler_origin}, naming the origin of the changes it
     *                      applies, so the sync engine drops them instead of sending them back
     */
    public record Options(boolean versionColumn, Optional<String> originMarker, Optional<dev.strangler.core.config.DatabaseSettings> source,
                          Optional<CopyFrom> copy) {

        /** A one-way service database, without schema following. */
        public static final Options SERVICE = new Options(true, Optional.empty(), Optional.empty(), Optional.empty());

        public Options(boolean versionColumn, Optional<String> originMarker) {
            this(versionColumn, originMarker, Optional.empty(), Optional.empty());
        }

        /** The same options, following the schema of the database the rows come from. */
        public Options followingSchemaOf(dev.strangler.core.config.DatabaseSettings database) {
            return new Options(versionColumn, originMarker, Optional.of(database), copy);
        }

        /** The same options, copying the existing rows of tables not copied yet from the monolith ({@code capture.snapshot: copy}). */
        public Options copyingExistingRows(CopyFrom from) {
            return new Options(versionColumn, originMarker, source, Optional.of(from));
        }
    }

    /**
     * Where {@code capture.snapshot: copy} reads existing rows.
     *
     * @param slotName        the capture's replication slot, which must be consistent before the first chunk is read
     * @param publicationName the capture's publication, which must hold a table before its first chunk is read
     */
    public record CopyFrom(dev.strangler.core.config.DatabaseSettings monolith, String slotName, String publicationName, int chunkRows, int threads,
                           String indexMemory) {
    }

    /** The copy of existing rows as far as it got: running, service tables left, rows copied per monolith table. */
    public record CopyState(boolean running, int tablesLeft, Map<TableId, Long> rowsCopied) {
    }

    private final ServiceSettings service;
    private final WriterDialect dialect;
    private final Options options;
    private final Map<TableId, TableSchema> sourceSchemas;
    private final WriterSettings settings;
    private final KafkaEndpoint kafka;
    private final TopicNames topics;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final ApplyListener listener;
    private final ComponentLifecycle state;
    private final String writerName;
    private final String topic;
    /** the service tables as they are (read again after a copy that built their indexes at its end) */
    private final Map<TableId, TableSchema> targetSchemas = new ConcurrentHashMap<>();
    private final Map<TableId, TableRoute> routesByTarget = new HashMap<>();
    private ForeignKeyOrder order;
    /** parked rows by key (the apply record's Kafka key): their version and table; mirrors strangler_parked */
    private final Map<String, ParkedRow> parked = new HashMap<>();
    private final Map<TableId, Integer> parkedPerTable = new HashMap<>();
    private final AtomicLong parkedGauge = new AtomicLong();
    private final AtomicLong parkedWaitingForTableGauge = new AtomicLong();
    private final Counter parkedRows;
    private final Counter schemaChanges;
    private long lastParkedRetryMs;
    /** rows the last retry took out of the park: while it makes progress, an idle writer keeps retrying */
    private int lastRetryFreedRows;
    /** where the sweep over parked rows continues: rows that still wait cannot hold back those behind them */
    private int retryCursorPosition = -1;
    private long retryCursorSeq = -1;
    private final Map<TableId, TableMeters> tableMeters = new ConcurrentHashMap<>();
    private final AtomicLong consumerLag = new AtomicLong();
    private final AtomicLong appliedRows = new AtomicLong();
    private final DistributionSummary batchRows;
    private final Timer commitTimer;
    private final Counter deadLetters;
    private final Counter retries;
    private final Counter transactions;
    private final DistributionSummary transactionRows;

    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile Thread thread;
    /** service tables whose existing rows are being copied: their changes are parked until the copy is done */
    private final Set<TableId> copying = ConcurrentHashMap.newKeySet();
    /** set when a table's rows may go in again (its copy is done, a narrowing was matched): its parked changes are applied */
    private final java.util.concurrent.atomic.AtomicBoolean releasedSinceRetry = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile dev.strangler.connectors.internal.TableCopier copier;
    private volatile Thread copyThread;
    private KafkaProducer<byte[], byte[]> deadLetterProducer;

    public JdbcApplyWriter(ServiceSettings service, Map<TableId, TableSchema> sourceSchemas, WriterSettings settings,
                           KafkaEndpoint kafka, TopicNames topics, MeterRegistry metrics, Clock clock, ApplyListener listener) {
        this(service, Options.SERVICE, sourceSchemas, settings, kafka, topics, metrics, clock, listener);
    }

    /**
     * @param service the target: a service, or for two-way sync the monolith as target
     *                {@code monolith.<service>} with the service's routes inverted
     */
    public JdbcApplyWriter(ServiceSettings service, Options options, Map<TableId, TableSchema> sourceSchemas, WriterSettings settings,
                           KafkaEndpoint kafka, TopicNames topics, MeterRegistry metrics, Clock clock, ApplyListener listener) {
        this.options = options;
        this.service = service;
        this.dialect = WriterDialect.of(service.database().type());
        service.tables().forEach(r -> routesByTarget.put(r.to(), r));
        this.sourceSchemas = Map.copyOf(sourceSchemas);
        this.settings = settings;
        this.kafka = kafka;
        this.topics = topics;
        this.metrics = metrics;
        this.clock = clock;
        this.listener = listener;
        this.state = new ComponentLifecycle("writer " + service.name());
        this.writerName = topics.writerName(service.name());
        this.topic = topics.apply(service.name());
        String name = service.name();
        batchRows = DistributionSummary.builder(MetricNames.WRITER_BATCH_ROWS).tag(MetricNames.TAG_SERVICE, name)
                .description("rows per writer transaction").register(metrics);
        commitTimer = Timer.builder(MetricNames.WRITER_COMMIT).tag(MetricNames.TAG_SERVICE, name)
                .description("time to write and commit one writer transaction").publishPercentileHistogram().register(metrics);
        deadLetters = Counter.builder(MetricNames.DEAD_LETTERS).tag(MetricNames.TAG_COMPONENT, name())
                .description("records sent to the dead-letter topic").register(metrics);
        retries = Counter.builder("strangler.writer.retries").tag(MetricNames.TAG_SERVICE, name)
                .description("writer transactions retried after a transient database failure").register(metrics);
        transactions = Counter.builder(MetricNames.WRITER_TRANSACTIONS).tag(MetricNames.TAG_SERVICE, name)
                .description("source transactions committed whole to the service database").register(metrics);
        transactionRows = DistributionSummary.builder(MetricNames.WRITER_TRANSACTION_ROWS).tag(MetricNames.TAG_SERVICE, name)
                .description("rows per source transaction applied").register(metrics);
        schemaChanges = Counter.builder(MetricNames.WRITER_SCHEMA_CHANGES).tag(MetricNames.TAG_SERVICE, name)
                .description("source schema changes the target followed (columns added, widened, dropped)").register(metrics);
        parkedRows = Counter.builder(MetricNames.WRITER_PARKED).tag(MetricNames.TAG_SERVICE, name)
                .description("rows parked because their parent row was missing (foreign key)").register(metrics);
        metrics.gauge(MetricNames.WRITER_PARKED_NOW, List.of(io.micrometer.core.instrument.Tag.of(MetricNames.TAG_SERVICE, name)), parkedGauge);
        Gauge.builder(MetricNames.WRITER_PARKED_WAITING_FOR_TABLE, parkedWaitingForTableGauge, AtomicLong::get).tag(MetricNames.TAG_SERVICE, name)
                .description("parked rows that wait for their table's copy or for a paused table, not for a parent row").register(metrics);
        metrics.gauge(MetricNames.WRITER_CONSUMER_LAG, List.of(io.micrometer.core.instrument.Tag.of(MetricNames.TAG_SERVICE, name)), consumerLag);
    }

    @Override
    public String name() {
        return "writer:" + service.name();
    }

    @Override
    public ComponentState state() {
        return state.get();
    }

    @Override
    public Optional<String> failure() {
        return state.failure();
    }

    /** Rows committed to the service database by this writer since it started. */
    public long appliedRows() {
        return appliedRows.get();
    }

    /**
     * Prepares the target (offsets table, missing tables, version column) and starts writing in the
     * background.
     *
     * @throws IllegalStateException when the target cannot be prepared, naming the table and reason
     */
    public synchronized void start() {
        state.moveTo(ComponentState.STARTING);
        try (Connection c = connect()) {
            prepareTarget(c);
        } catch (SQLException e) {
            state.fail(e.getMessage());
            throw new IllegalStateException("cannot prepare service database " + service.name() + " (" + service.database().url()
                    + "): " + e.getMessage(), e);
        }
        Map<String, Object> producerConfig = kafka.clientConfig(Map.of(
                "client.id", "strangler-writer-dlq-" + service.name(),
                "max.request.size", String.valueOf(KafkaTopics.MAX_RECORD_BYTES)));
        producerConfig.put("acks", "all");
        deadLetterProducer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer());
        thread = new Thread(this::runLoop, "strangler-writer-" + service.name());
        thread.start();
        if (options.copy().isPresent()) {
            // also when every table is copied: a foreign key a copy left NOT VALID before a restart is validated
            startCopy();
        }
    }

    private void startCopy() {
        CopyFrom from = options.copy().orElseThrow();
        List<dev.strangler.connectors.internal.TableCopier.Job> jobs = new ArrayList<>();
        service.tables().stream().filter(r -> copying.contains(r.to()))
                .sorted(java.util.Comparator.comparing(r -> order.positions().getOrDefault(r.to(), 0)))
                .forEach(r -> jobs.add(new dev.strangler.connectors.internal.TableCopier.Job(r, sourceSchemas.get(r.from()),
                        targetSchemas.get(r.to()))));
        copier = new dev.strangler.connectors.internal.TableCopier(writerName, from.slotName(), from.publicationName(), from.chunkRows(), from.threads(), from.indexMemory(),
                () -> StartupChecks.connect(from.monolith()), this::connect, table -> {
                    // the copy may have built the table's primary key and indexes at its end: the writer's view of it first
                    try (Connection c = connect()) {
                        dialect.catalog(c).table(table).ifPresent(t -> targetSchemas.put(table, t));
                    } catch (SQLException e) {
                        throw new IllegalStateException("cannot read table " + table + " of service " + service.name() + " after its copy: "
                                + e.getMessage(), e);
                    }
                    copying.remove(table);
                    releasedSinceRetry.set(true);
                    LOG.info("writer {}: {} is copied; its changes parked meanwhile are applied now", service.name(), table);
                }, () -> state.get() == ComponentState.STARTING || state.get() == ComponentState.RUNNING);
        copyThread = new Thread(() -> {
            MDC.put("component", name());
            try {
                copier.run(jobs, service.tables().stream().map(TableRoute::to).toList());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (SQLException | RuntimeException e) {
                if (state.get() == ComponentState.RUNNING || state.get() == ComponentState.STARTING) {
                    LOG.error("writer {}: the copy of existing rows failed: {}", service.name(), e.getMessage(), e);
                    state.fail("the copy of existing rows failed: " + e.getMessage());
                    KafkaConsumer<byte[], byte[]> c = consumer;
                    if (c != null) {
                        c.wakeup();
                    }
                }
            }
        }, "strangler-copy-" + service.name());
        copyThread.start();
    }

    /**
     * Registers the initial copy's gauges (those the capture registers for Debezium's snapshots) over the
     * writers' copies ({@code capture.snapshot: copy}), with the monolith tables' size estimates.
     */
    public static void registerCopyProgress(MeterRegistry metrics, dev.strangler.core.config.DatabaseSettings monolith,
                                            List<JdbcApplyWriter> writers) {
        Map<TableId, Integer> routes = new HashMap<>();
        writers.stream().filter(w -> w.options.copy().isPresent()).forEach(w -> w.service.tables().forEach(r -> routes.merge(r.from(), 1, Integer::sum)));
        Map<TableId, Long> estimates;
        try (Connection c = StartupChecks.connect(monolith)) {
            estimates = dev.strangler.connectors.internal.SnapshotProgress.estimates(c, routes.keySet());
        } catch (SQLException e) {
            LOG.warn("no row estimates for the copy's progress: {}", e.getMessage());
            estimates = new HashMap<>();
            for (TableId t : routes.keySet()) {
                estimates.put(t, 0L);
            }
        }
        dev.strangler.connectors.internal.SnapshotProgress.registerCopy(metrics, () -> writers.stream().map(JdbcApplyWriter::copyState)
                .flatMap(Optional::stream).map(s -> new dev.strangler.connectors.internal.SnapshotProgress.CopyCounts(s.running(), s.tablesLeft(),
                        s.rowsCopied())).toList(), estimates, routes);
    }

    /** The copy of existing rows ({@code capture.snapshot: copy}), or empty when this writer copies nothing. */
    public Optional<CopyState> copyState() {
        dev.strangler.connectors.internal.TableCopier c = copier;
        if (options.copy().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(c == null ? new CopyState(false, 0, Map.of()) : new CopyState(!copying.isEmpty(), copying.size(), c.rowsCopied()));
    }

    private void prepareTarget(Connection c) throws SQLException {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute(dialect.createOffsetsTable());
            s.execute(dialect.createParkedTable());
        }
        if (options.originMarker().isPresent()) {
            OriginMarkers.ensureTable(c);
            try (PreparedStatement ps = c.prepareStatement(dev.strangler.connectors.internal.PostgresDialect.registerOrigin())) {
                ps.setString(1, writerName);
                ps.setString(2, options.originMarker().get());
                ps.executeUpdate();
            }
        }
        copying.clear();
        if (options.copy().isPresent()) {
            Set<String> done = new HashSet<>();
            try (Statement s = c.createStatement()) {
                for (String ddl : dev.strangler.connectors.internal.TableCopier.createProgressTable()) {
                    s.execute(ddl);
                }
            }
            try (PreparedStatement ps = c.prepareStatement(dev.strangler.connectors.internal.TableCopier.doneTables())) {
                ps.setString(1, writerName);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        done.add(rs.getString(1));
                    }
                }
            }
            service.tables().stream().map(TableRoute::to).filter(t -> !done.contains(t.toString())).forEach(copying::add);
        }
        ServiceCatalog catalog = dialect.catalog(c);
        for (TableRoute route : service.tables()) {
            Optional<TableSchema> existing = catalog.table(route.to());
            if (existing.isEmpty()) {
                if (!service.createTables()) {
                    throw new SQLException("table " + route.to() + " does not exist in service " + service.name()
                            + " and services." + service.name() + ".createTables is false; create it, or set createTables: true");
                }
                TableSchema source = sourceSchemas.get(route.from());
                if (source == null) {
                    throw new SQLException("no schema known for source table " + route.from());
                }
                try (Statement s = c.createStatement()) {
                    for (String ddl : dialect.createTable(route, source)) {
                        s.execute(ddl);
                    }
                }
                LOG.info("created table {} in service {} from {}", route.to(), service.name(), route.from());
            } else if (options.versionColumn() && existing.get().column(WriterDialect.VERSION_COLUMN).isEmpty()) {
                try (Statement s = c.createStatement()) {
                    s.execute(dialect.addVersionColumn(route.to()));
                }
                LOG.info("added column {} to {} in service {}", WriterDialect.VERSION_COLUMN, route.to(), service.name());
            }
            TableSchema target = catalog.table(route.to()).orElseThrow();
            if (target.primaryKey().isEmpty() && !(copying.contains(route.to())
                    && dev.strangler.connectors.internal.TableCopier.primaryKeyDeferred(c, writerName, route.to()))) {
                throw new SQLException("table " + route.to() + " in service " + service.name()
                        + " has no primary key; add one (the writer upserts by key)");
            }
            targetSchemas.put(route.to(), target);
        }
        List<TableId> tables = new ArrayList<>(service.tables().stream().map(TableRoute::to).toList());
        for (TableRoute route : service.tables()) {
            for (TableId extra : route.transform().custom().map(dev.strangler.core.RowTransform.Custom::targets).orElse(List.of())) {
                // a custom transform's other tables: not created from a monolith table (none matches them)
                Optional<TableSchema> existing = catalog.table(extra);
                if (existing.isEmpty()) {
                    throw new SQLException("table " + extra + " (in " + route.path() + ".custom.targets) does not exist in service "
                            + service.name() + "; create it: the tables a custom transform writes are not created from the monolith");
                }
                if (options.versionColumn() && existing.get().column(WriterDialect.VERSION_COLUMN).isEmpty()) {
                    try (Statement s = c.createStatement()) {
                        s.execute(dialect.addVersionColumn(extra));
                    }
                }
                TableSchema target = catalog.table(extra).orElseThrow();
                if (target.primaryKey().isEmpty()) {
                    throw new SQLException("table " + extra + " in service " + service.name() + " has no primary key; add one (the writer upserts by key)");
                }
                targetSchemas.put(extra, target);
                if (!tables.contains(extra)) {
                    tables.add(extra);
                }
            }
        }
        // every table's paused gauge exists from the start (0), so an alert on it has a series to watch
        tables.forEach(this::pausedGauge);
        List<ForeignKey> keys = catalog.foreignKeysAmong(tables);
        try {
            order = ForeignKeyOrder.of(tables, keys);
        } catch (ForeignKeyOrder.CycleException e) {
            throw new SQLException("service " + service.name() + ": " + e.getMessage());
        }
        LOG.info("writer {} orders tables {} (parents first){}", service.name(), order.positions().entrySet().stream()
                .sorted(Map.Entry.comparingByValue()).map(e -> e.getKey().toString()).toList(),
                order.deferConstraints() ? "; a cycle of deferrable foreign keys: constraints are checked at commit" : "");
    }

    /**
     * Builds again the indexes and keys that unfinished copies ({@code capture.snapshot: copy}) dropped into a
     * PostgreSQL service, before {@code strangler reset} forgets the table that keeps their definitions.
     *
     * @param writerName only this writer's copies; empty: every writer's
     * @return the service tables mended
     */
    public static List<String> buildWhatCopiesDropped(Connection c, Optional<String> writerName) throws SQLException {
        return dev.strangler.connectors.internal.TableCopier.buildDeferredBeforeReset(c, writerName);
    }

    /**
     * Sets every service table's {@code strangler_version} to -1, so that the next initial copy (version 0)
     * overwrites rows the monolith changed while Strangler was away ({@code strangler reset}).
     */
    public static void forgetVersions(ServiceSettings service, Connection c) throws SQLException {
        WriterDialect dialect = WriterDialect.of(service.database().type());
        ServiceCatalog catalog = dialect.catalog(c);
        for (TableRoute route : service.tables()) {
            if (catalog.table(route.to()).flatMap(t -> t.column(WriterDialect.VERSION_COLUMN)).isPresent()) {
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("UPDATE " + dialect.qualified(route.to()) + " SET " + WriterDialect.VERSION_COLUMN + " = -1");
                }
            }
        }
    }

    private Connection connect() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", service.database().user());
        props.setProperty("password", service.database().password().reveal());
        dialect.configure(props, "strangler-writer-" + service.name());
        Connection c = DriverManager.getConnection(service.database().url(), props);
        try {
            dialect.prepareSession(c);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** The catalog of the database the rows come from (the monolith, for schema following). */
    private SourceCatalog sourceCatalog(Connection source) {
        return options.source().orElseThrow().type().binlog()
                ? new MariaDbCatalog(source) : new PostgresCatalog(source);
    }

    /** Whether this start logged the apply topic's retention (runLoop's thread only). */
    private boolean retentionSaid;

    private void runLoop() {
        MDC.put("component", name());
        Duration backoff = Duration.ofMillis(200);
        while (state.get() == ComponentState.STARTING || state.get() == ComponentState.RUNNING) {
            try (Connection connection = connect();
                 KafkaConsumer<byte[], byte[]> kafkaConsumer = newConsumer()) {
                connection.setAutoCommit(false);
                consumer = kafkaConsumer;
                List<TopicPartition> partitions = KafkaTopics.partitionsOf(kafkaConsumer, topic, Duration.ofSeconds(60));
                kafkaConsumer.assign(partitions);
                seekToStoredOffsets(connection, kafkaConsumer, partitions);
                if (!retentionSaid) {
                    sayRetention();
                    retentionSaid = true;
                }
                loadParked(connection);
                state.tryMoveTo(ComponentState.RUNNING);
                backoff = Duration.ofMillis(200);
                List<Item> carried = List.of();
                while (state.get() == ComponentState.RUNNING) {
                    holdWhileEveryTableIsCopied(kafkaConsumer, partitions);
                    ConsumerRecords<byte[], byte[]> records = kafkaConsumer.poll(settings.pollTimeout());
                    updateLag(kafkaConsumer, partitions);
                    if (!records.isEmpty()) {
                        int before = carried.size();
                        carried = writeBatch(connection, carried, records);
                        if (carried.size() < before + records.count()) {
                            kafkaConsumer.commitAsync();
                        }
                    } else if (!parked.isEmpty() && (lastRetryFreedRows > 0 || clock.millis() - lastParkedRetryMs > PARKED_RETRY_IDLE_MS)) {
                        retryParkedAlone(connection);
                    }
                    checkNarrowing(connection);
                    if (releasedSinceRetry.getAndSet(false)) {
                        // a table's copy is done, or its narrowing matched: the changes parked meanwhile go in now, page by page
                        do {
                            retryParkedAlone(connection);
                        } while (lastRetryFreedRows > 0);
                    }
                    if (!records.isEmpty() && !pausedTables.isEmpty() && clock.millis() - lastParkedRetryMs > PARKED_RETRY_IDLE_MS) {
                        // a paused table's rows are retried under traffic too, so it resumes soon after its fix
                        retryParkedAlone(connection);
                    }
                }
            } catch (WakeupException e) {
                break;
            } catch (DdlOutsideTransaction e) {
                LOG.info("writer {}: the service table followed the source's schema; reading again from the stored offsets", service.name());
            } catch (SQLException e) {
                if (state.get() != ComponentState.RUNNING && state.get() != ComponentState.STARTING) {
                    break;
                }
                retries.increment();
                LOG.warn("writer {}: database failure ({}, SQLState {}); retrying from the stored offsets in {} ms",
                        service.name(), e.getMessage(), e.getSQLState(), backoff.toMillis());
                sleep(backoff);
                backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10) : backoff.multipliedBy(2);
            } catch (OffsetOutOfRangeException e) {
                String why = offsetsDeletedBeforeWritten(e);
                LOG.error("writer {} stopped: {}", service.name(), why);
                state.fail(why);
            } catch (StopRequested e) {
                LOG.error("writer {} stopped: {}", service.name(), e.getMessage());
                state.fail(e.getMessage());
            } catch (RuntimeException e) {
                if (state.get() == ComponentState.STOPPING) {
                    break;
                }
                LOG.error("writer {} failed: {}", service.name(), e.toString(), e);
                state.fail(e.toString());
            } finally {
                consumer = null;
            }
        }
    }

    /**
     * While every table of the service is being copied ({@code capture.snapshot: copy}) there is nothing the writer
     * could apply: it reads no changes, which wait in the apply topic instead of the park (the copy gets the
     * service database to itself). They are read once the first table's copy is done, from the stored offsets
     * on, and applied over the copy as parked changes would be (each newer than a copied row).
     */
    private void holdWhileEveryTableIsCopied(KafkaConsumer<byte[], byte[]> kafkaConsumer, List<TopicPartition> partitions) {
        boolean hold = !copying.isEmpty() && service.tables().stream().allMatch(r -> copying.contains(r.to()));
        if (hold && kafkaConsumer.paused().isEmpty()) {
            kafkaConsumer.pause(partitions);
            LOG.info("writer {}: every table is being copied; its changes wait in {} until the first copy is done", service.name(), topic);
        } else if (!hold && !kafkaConsumer.paused().isEmpty()) {
            kafkaConsumer.resume(partitions);
            LOG.info("writer {}: reading changes again", service.name());
        }
    }

    /** Once per start: how long changes can wait in the apply topic, the bound on a writer outage (or a long copy). */
    private void sayRetention() {
        long retentionMs;
        try {
            retentionMs = new KafkaTopics(kafka).retentionMs(topic);
        } catch (RuntimeException e) {
            // only a log line: a broker that will not describe the topic (ACLs) stops nothing
            LOG.info("writer {}: the retention of {} is unknown ({})", service.name(), topic, e.getMessage());
            return;
        }
        if (retentionMs < 0) {
            LOG.info("writer {}: {} keeps its records forever (retention.ms -1)", service.name(), topic);
        } else if (retentionMs < Duration.ofDays(1).toMillis()) {
            LOG.warn("writer {}: changes wait at most {} in {} (its retention.ms): a writer stopped or behind for longer "
                    + "stops with changes missing; raise it (operations.md, \"Topic retention\")", service.name(),
                    hoursOrMinutes(retentionMs), topic);
        } else {
            LOG.info("writer {}: changes wait at most {} in {} (its retention.ms)", service.name(), hoursOrMinutes(retentionMs), topic);
        }
    }

    private static String hoursOrMinutes(long millis) {
        return millis >= 3_600_000 ? millis / 3_600_000 + " h" : millis / 60_000 + " min";
    }

    /**
     * The apply topic no longer holds the records after the offsets stored in the service database: its retention
     * (or someone) deleted them before the writer wrote them. Skipping to what is left would lose those changes
     * without a word, so the writer stops and says what is missing and how to go on.
     */
    private String offsetsDeletedBeforeWritten(OffsetOutOfRangeException e) {
        return "the apply topic " + topic + " no longer holds the records after the offsets stored in the service database "
                + e.offsetOutOfRangePartitions() + " (deleted by the topic's retention.ms/retention.bytes before the writer wrote "
                + "them; or the topic was deleted and made again, which leaves the stored offsets past its end): the changes in "
                + "between are missing from the service. Raise the topic's retention, then re-copy the "
                + "service (operations.md, \"Topic retention\"); the writer does not skip records by itself";
    }

    private KafkaConsumer<byte[], byte[]> newConsumer() {
        Map<String, Object> config = kafka.clientConfig(Map.of(
                "client.id", writerName,
                "fetch.max.wait.ms", "10",
                "fetch.max.bytes", String.valueOf(64 * 1024 * 1024),
                "max.partition.fetch.bytes", String.valueOf(16 * 1024 * 1024)));
        // correctness: offsets live in the target; only committed sync-engine transactions are applied
        config.put("group.id", writerName);
        config.put("enable.auto.commit", "false");
        config.put("isolation.level", "read_committed");
        // never skip: a stored offset the topic no longer holds stops the writer (see offsetsDeletedBeforeWritten)
        config.put("auto.offset.reset", "none");
        config.put("max.poll.records", String.valueOf(settings.maxBatchRows()));
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private void seekToStoredOffsets(Connection c, KafkaConsumer<byte[], byte[]> kafkaConsumer, List<TopicPartition> partitions)
            throws SQLException {
        Map<Integer, Long> stored = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(dialect.readOffsets())) {
            ps.setString(1, writerName);
            ps.setString(2, topic);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    stored.put(rs.getInt(1), rs.getLong(2));
                }
            }
        }
        c.commit();
        List<TopicPartition> fromStart = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            Long next = stored.get(tp.partition());
            if (next == null) {
                fromStart.add(tp);
            } else {
                kafkaConsumer.seek(tp, next);
            }
        }
        if (!fromStart.isEmpty()) {
            kafkaConsumer.seekToBeginning(fromStart);
            kafkaConsumer.beginningOffsets(fromStart).forEach((tp, first) -> {
                if (first > 0) {
                    LOG.warn("writer {} has no stored offset for {} and starts at offset {}, not 0: the records before it were "
                            + "deleted (retention) before this service database stored a position. If it was emptied to start "
                            + "over, the changes in those records are missing: re-copy it (operations.md, \"Topic retention\")",
                            service.name(), tp, first);
                }
            });
        }
        LOG.info("writer {} resumes {} at stored offsets {}", service.name(), topic, stored);
    }

    /** One record of the apply topic, read: a row, a commit marker, or a record that cannot be read. */
    private record Item(ConsumerRecord<byte[], byte[]> source, ApplyRecord row, TransactionCommit commit, DeadLetter rejected) {
    }

    /**
     * Writes what can be committed now and returns what cannot yet: rows of a source transaction whose
     * commit marker has not arrived. Their offsets are not stored, so after a crash they are read again.
     */
    private List<Item> writeBatch(Connection c, List<Item> carried, ConsumerRecords<byte[], byte[]> records) throws SQLException {
        List<Item> items = new ArrayList<>(carried.size() + records.count());
        items.addAll(carried);
        for (ConsumerRecord<byte[], byte[]> record : records) {
            items.add(read(record));
        }
        int safeEnd = -1;
        boolean open = false;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            if (item.commit() != null) {
                open = false;
                safeEnd = i;
            } else if (item.row() != null && item.row().awaitsCommit()) {
                open = true;
            } else if (!open) {
                safeEnd = i;
            }
        }
        if (safeEnd < 0) {
            return items;
        }
        List<Item> ready = items.subList(0, safeEnd + 1);
        long started = System.nanoTime();
        ApplyBatch batch = new ApplyBatch(order.positions());
        List<DeadLetter> rejected = new ArrayList<>();
        Map<TopicPartition, Long> nextOffsets = new HashMap<>();
        List<TransactionCommit> commits = new ArrayList<>();
        long through = 0;
        for (Item item : ready) {
            ConsumerRecord<byte[], byte[]> record = item.source();
            nextOffsets.put(new TopicPartition(record.topic(), record.partition()), record.offset() + 1);
            if (item.rejected() != null) {
                rejected.add(item.rejected());
            } else if (item.commit() != null) {
                commits.add(item.commit());
            } else {
                batch.add(item.row(), record);
                through = Math.max(through, item.row().seq());
            }
        }
        ParkChanges parking = new ParkChanges();
        try {
            markOrigin(c, through);
            if (order.deferConstraints()) {
                execute(c, "SET CONSTRAINTS ALL DEFERRED");
            }
            if (!parked.isEmpty()) {
                supersedeParked(c, batch, parking);
            }
            for (ApplyBatch.Group group : batch.groups()) {
                applyGroup(c, group, rejected, parking);
            }
            if (!parked.isEmpty()) {
                Set<TableId> touched = new HashSet<>();
                batch.rows().forEach(r -> touched.add(r.record().table()));
                Set<TableId> released = order.releasedBy(touched);
                released.retainAll(parkedPerTable.keySet());
                if (!released.isEmpty()) {
                    retryParked(c, rejected, parking, released, false);
                }
            }
            if (order.deferConstraints()) {
                // the deferred checks run here, inside the transaction, so a failure names its constraint
                execute(c, "SET CONSTRAINTS ALL IMMEDIATE");
            }
            storeOffsets(c, nextOffsets);
            sendDeadLetters(rejected);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(c);
            if (e instanceof DdlOutsideTransaction ddl) {
                followSchemaAlone(c, ddl);
            }
            throw e;
        }
        parking.applyTo(this);
        long committedMicros = clock.millis() * 1000;
        commitTimer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        batchRows.record(batch.size());
        appliedRows.addAndGet(batch.size());
        for (TransactionCommit commit : commits) {
            transactions.increment();
            transactionRows.record(commit.rows());
        }
        Map<TableId, long[]> latencies = batch.sourceCommitMicrosByTable();
        latencies.forEach((table, micros) -> meters(table).record(micros, committedMicros));
        listener.committed(service.name(), latencies, committedMicros);
        return new ArrayList<>(items.subList(safeEnd + 1, items.size()));
    }

    private Item read(ConsumerRecord<byte[], byte[]> record) {
        try {
            if (TransactionCommit.isCommitKey(record.key())) {
                return new Item(record, null, TransactionCommit.fromBytes(record.value()), null);
            }
            ApplyRecord row = ApplyRecord.fromBytes(record.value());
            if (!targetSchemas.containsKey(row.table())) {
                return new Item(record, null, null, deadLetter(record, row.table(), row.version(),
                        "table " + row.table() + " is not a target of service " + service.name()));
            }
            return new Item(record, row, null, null);
        } catch (MalformedChangeException e) {
            return new Item(record, null, null, new DeadLetter(name(), DeadLetter.Stage.PARSE, e.getMessage(), record.topic(), record.partition(),
                    record.offset(), null, DeadLetter.UNKNOWN_VERSION, record.key(), record.value()));
        }
    }

    private void applyGroup(Connection c, ApplyBatch.Group group, List<DeadLetter> rejected, ParkChanges parking) throws SQLException {
        if (copying.contains(group.table()) && group.kind() != ApplyBatch.Kind.TRUNCATE) {
            parkAll(c, group.rows(), COPYING_REASON, parking);
            return;
        }
        String narrowing = narrowed.get(group.table());
        if (narrowing != null && group.kind() != ApplyBatch.Kind.TRUNCATE) {
            parkAll(c, group.rows(), PAUSED_PREFIX + narrowing, parking);
            return;
        }
        if (group.kind() == ApplyBatch.Kind.TRUNCATE) {
            truncate(c, group, rejected, parking);
            return;
        }
        if (group.kind() == ApplyBatch.Kind.UPSERT) {
            followDroppedColumns(c, group);
        }
        TableSchema target = targetSchemas.get(group.table());
        Savepoint savepoint = c.setSavepoint();
        try {
            executeGroup(c, group, group.rows(), target);
            c.releaseSavepoint(savepoint);
        } catch (SQLException e) {
            c.rollback(savepoint);
            if (dialect.isTransient(e)) {
                throw e;
            }
            if (followSourceSchema(c, group.table(), e)) {
                applyGroup(c, group, rejected, parking);
                return;
            }
            // Find the rows the database rejects, one by one; the others are written.
            for (ApplyBatch.Row row : group.rows()) {
                Savepoint single = c.setSavepoint();
                try {
                    executeGroup(c, group, List.of(row), target);
                    c.releaseSavepoint(single);
                } catch (SQLException rowError) {
                    c.rollback(single);
                    if (dialect.isTransient(rowError)) {
                        throw rowError;
                    }
                    String reason = "service " + service.name() + " rejected " + row.record().action().name().toLowerCase()
                            + " of " + group.table() + " key " + row.record().key() + ": " + Strings.firstLine(rowError.getMessage())
                            + " (SQLState " + rowError.getSQLState() + ")"
                            + (schemaNotes.containsKey(group.table()) ? "; " + schemaNotes.get(group.table()) : "");
                    if (dialect.isForeignKeyViolation(rowError)) {
                        park(c, row, reason, parking);
                    } else if (schemaNotes.containsKey(group.table()) && !stopsOnError(group.table())) {
                        // a schema change of the source that cannot be followed (a rename): the table pauses,
                        // its rows wait in the park, the other tables go on; it resumes once the service table takes them
                        pause(group.table(), schemaNotes.get(group.table()));
                        park(c, row, PAUSED_PREFIX + reason, parking);
                    } else {
                        stopIfAsked(group.table(), reason, row.source());
                        LOG.warn("{}; sent to {}", reason, topics.deadLetters());
                        rejected.add(deadLetter(row.source(), group.table(), row.record().version(), reason));
                    }
                }
            }
        }
    }

    /** How often the monolith's catalog is compared with what the writer knows of it, for a narrowed column. */
    private static final long NARROWING_CHECK_MS = 10_000;
    private long lastNarrowingCheckMs;
    /** per service table, the monolith column types the writer last knew (at start, or followed since) */
    private final Map<TableId, Map<String, String>> knownSourceTypes = new HashMap<>();
    /** service tables paused because the monolith narrowed a column, with the note saying what to do */
    private final Map<TableId, String> narrowed = new ConcurrentHashMap<>();

    /**
     * A column the monolith narrowed (a shorter varchar, a smaller integer or numeric) is not followed: values the
     * service holds may not fit, so the operator decides. The table pauses (its rows wait in the park, the paused
     * gauge is 1) until the service column has the monolith's new type; a restart also accepts the change.
     * Checked every {@link #NARROWING_CHECK_MS} against the monolith's catalog (a narrowing changes no row's shape).
     */
    private void checkNarrowing(Connection c) {
        if (options.source().isEmpty() || clock.millis() - lastNarrowingCheckMs < NARROWING_CHECK_MS) {
            return;
        }
        lastNarrowingCheckMs = clock.millis();
        try {
            compareWithSourceCatalog(c);
        } catch (SQLException e) {
            // the check waits for its next turn; a monolith that cannot be read does not stop the writer
            rollbackQuietly(c);
            LOG.warn("writer {}: could not compare the monolith's column types with what it knows: {}", service.name(), e.getMessage());
        }
    }

    private void compareWithSourceCatalog(Connection c) throws SQLException {
        ServiceCatalog serviceCatalog = null;
        try (Connection source = StartupChecks.connect(options.source().get())) {
            SourceCatalog catalog = sourceCatalog(source);
            for (TableRoute route : service.tables()) {
                if (copying.contains(route.to())) {
                    continue;
                }
                Optional<TableSchema> live = catalog.table(route.from());
                if (live.isEmpty()) {
                    continue;
                }
                Map<String, String> known = knownSourceTypes.computeIfAbsent(route.to(), t -> {
                    Map<String, String> types = new HashMap<>();
                    TableSchema atStart = sourceSchemas.get(route.from());
                    if (atStart != null) {
                        atStart.columns().forEach(col -> types.put(col.name(), col.type()));
                    }
                    return types;
                });
                List<String> narrowings = new ArrayList<>();
                List<String> fixes = new ArrayList<>();
                boolean matched = true;
                for (ColumnSchema column : live.get().columns()) {
                    Optional<String> target = route.targetColumn(column.name());
                    String before = known.get(column.name());
                    if (target.isEmpty() || before == null || before.equals(column.type())) {
                        continue;
                    }
                    if (!dev.strangler.connectors.internal.TypeWidening.widens(column.type(), before)) {
                        known.put(column.name(), column.type());    // widened or otherwise changed: followed on its first rejected row
                        continue;
                    }
                    if (serviceCatalog == null) {
                        serviceCatalog = dialect.catalog(c);
                    }
                    String serviceType = serviceCatalog.table(route.to()).flatMap(t -> t.column(target.get())).map(ColumnSchema::type).orElse("");
                    if (serviceType.equals(column.type())) {
                        known.put(column.name(), column.type());    // the operator narrowed the service column too
                        continue;
                    }
                    matched = false;
                    narrowings.add(column.name() + " from " + before + " to " + column.type());
                    fixes.add(dialect.widenColumn(route.to(), target.get(), column.type()));
                }
                if (!matched) {
                    String note = "in the source, " + route.from() + " narrowed " + String.join(", ", narrowings) + ": not followed (values "
                            + service.name() + " holds may not fit). Narrow the service column to match (" + String.join("; ", fixes)
                            + ") and its rows flow again; or restart Strangler to keep the wider service column";
                    if (narrowed.put(route.to(), note) == null) {
                        pause(route.to(), note);
                    }
                } else if (narrowed.remove(route.to()) != null) {
                    if (serviceCatalog == null) {
                        serviceCatalog = dialect.catalog(c);
                    }
                    serviceCatalog.table(route.to()).ifPresent(t -> targetSchemas.put(route.to(), t));
                    c.commit();
                    resumeIfPaused(route.to());
                    releasedSinceRetry.set(true);
                }
            }
        }
        c.commit();
    }

    /** The reason of a parked row that waits for its paused table: such rows never expire into dead letters. */
    static final String PAUSED_PREFIX = "paused: ";
    /** The reason parked rows of a table being copied carry ("paused: ..." rows never expire). */
    private static final String COPYING_REASON = PAUSED_PREFIX + "its existing rows are being copied (capture.snapshot: copy); "
            + "applied over the copy once it is done";

    /** Tables paused by a schema change of the source that cannot be followed, with the reason. */
    private final Map<TableId, String> pausedTables = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<TableId, java.util.concurrent.atomic.AtomicInteger> pausedGauges = new java.util.concurrent.ConcurrentHashMap<>();

    private boolean stopsOnError(TableId table) {
        TableRoute route = routesByTarget.get(table);
        return route != null && route.onError() == TableRoute.OnError.STOP;
    }

    private void pause(TableId table, String reason) {
        if (pausedTables.put(table, reason) == null) {
            pausedGauge(table).set(1);
            LOG.error("writer {}: table {} is PAUSED: {}. Its rows wait in strangler_parked in service {} (other tables go on) and are "
                    + "applied, in order, as soon as the service table takes them: change it to match, no restart needed", service.name(),
                    table, reason, service.name());
        }
    }

    private void resumeIfPaused(TableId table) {
        if (pausedTables.remove(table) != null) {
            pausedGauge(table).set(0);
            schemaNotes.remove(table);
            LOG.info("writer {}: table {} resumed: the service table takes its rows again", service.name(), table);
        }
    }

    private java.util.concurrent.atomic.AtomicInteger pausedGauge(TableId table) {
        return pausedGauges.computeIfAbsent(table, t -> metrics.gauge(MetricNames.WRITER_TABLE_PAUSED,
                List.of(io.micrometer.core.instrument.Tag.of(MetricNames.TAG_SERVICE, service.name()),
                        io.micrometer.core.instrument.Tag.of(MetricNames.TAG_TARGET_TABLE, t.toString())),
                new java.util.concurrent.atomic.AtomicInteger()));
    }

    /** Tables paused now, with the reason. */
    public Map<TableId, String> pausedTables() {
        return Map.copyOf(pausedTables);
    }

    /** Per target table, the source columns (and types) the writer has last followed, to follow each change once. */
    private final Map<TableId, String> followedSchema = new HashMap<>();
    /** Per target table, why the source's last schema change was not followed (added to the rows' dead letters). */
    private final Map<TableId, String> schemaNotes = new HashMap<>();

    /**
     * After a rejection that a source schema change explains (SQLState 42703 undefined column, 22001 value too
     * long, 22003 out of range, 23502 not null), makes the target table follow the source table as it is now,
     * in the writer's transaction. Returns whether the target changed (the group is then written again).
     */
    private boolean followSourceSchema(Connection c, TableId targetTable, SQLException rejection) throws SQLException {
        if (options.source().isEmpty() || !dialect.isSchemaMismatch(rejection)) {
            return false;
        }
        TableRoute route = routesByTarget.get(targetTable);
        if (route == null) {
            return false;    // a custom transform's table: no monolith table to follow
        }
        Optional<TableSchema> live;
        try (Connection source = StartupChecks.connect(options.source().get())) {
            live = sourceCatalog(source).table(route.from());
        }
        if (live.isEmpty()) {
            return false;
        }
        // what the monolith's columns are now: a later narrowing is measured from here
        Map<String, String> known = new HashMap<>();
        live.get().columns().forEach(col -> known.put(col.name(), col.type()));
        knownSourceTypes.put(targetTable, known);
        String signature = live.get().columns().toString();
        if (signature.equals(followedSchema.get(targetTable))) {
            return false;    // already followed this shape: the rejection has another cause
        }
        TableSchema target = targetSchemas.get(targetTable);
        Map<String, ColumnSchema> targetColumns = target.byName();
        List<String> ddl = new ArrayList<>();
        List<String> added = new ArrayList<>();
        java.util.Set<String> sourceNames = new java.util.HashSet<>();
        for (ColumnSchema column : live.get().columns()) {
            Optional<String> name = route.targetColumn(column.name());
            if (name.isEmpty()) {
                continue;
            }
            sourceNames.add(name.get());
            ColumnSchema existing = targetColumns.get(name.get());
            if (existing == null) {
                added.add(name.get());
                ddl.add(dialect.addColumn(targetTable, name.get(), column.type()));
            } else if (!existing.type().equals(column.type()) && dev.strangler.connectors.internal.TypeWidening.widens(existing.type(), column.type())) {
                ddl.add(dialect.widenColumn(targetTable, name.get(), column.type()));
            }
        }
        // a column the source had at start and has no more: dropped there
        TableSchema atStart = sourceSchemas.get(route.from());
        List<String> gone = new ArrayList<>();
        if (atStart != null) {
            for (ColumnSchema column : atStart.columns()) {
                Optional<String> name = route.targetColumn(column.name());
                if (name.isPresent() && !sourceNames.contains(name.get()) && targetColumns.containsKey(name.get())
                        && !target.primaryKey().contains(name.get())) {
                    gone.add(name.get());
                }
            }
        }
        if (!added.isEmpty() && !gone.isEmpty()) {
            String note = "in the source, " + route.from() + " lost columns " + gone + " and got " + added + ": a rename? Not followed: "
                    + "rename the columns of " + targetTable + " in service " + service.name() + " (ALTER TABLE ... RENAME COLUMN); "
                    + "its rows then flow again (with onError: stop, restart the writer after the fix)";
            LOG.warn("writer {}: {}", service.name(), note);
            schemaNotes.put(targetTable, note);
            return false;
        }
        schemaNotes.remove(targetTable);
        for (String column : gone) {
            ddl.add(dialect.dropColumn(targetTable, column));
        }
        if (ddl.isEmpty()) {
            return false;
        }
        followSchema(c, new SchemaFollow(targetTable, route.from(), ddl, signature));
        return true;
    }

    /** DDL that makes a service table follow its source table; {@code signature}: the source shape followed, if known. */
    private record SchemaFollow(TableId table, TableId source, List<String> ddl, String signature) {
    }

    /**
     * Thrown where a database cannot run DDL inside the writer's transaction (MariaDB commits implicitly): the
     * transaction is rolled back, the DDL runs alone, and the writer reads again from its stored offsets.
     */
    private static final class DdlOutsideTransaction extends RuntimeException {
        final SchemaFollow follow;

        DdlOutsideTransaction(SchemaFollow follow) {
            super("schema change of " + follow.table() + " to run outside the writer's transaction", null, false, false);
            this.follow = follow;
        }
    }

    private void followSchema(Connection c, SchemaFollow follow) throws SQLException {
        if (!dialect.transactionalDdl() && !c.getAutoCommit()) {
            throw new DdlOutsideTransaction(follow);
        }
        try (Statement s = c.createStatement()) {
            for (String statement : follow.ddl()) {
                s.execute(statement);
            }
        }
        targetSchemas.put(follow.table(), dialect.catalog(c).table(follow.table()).orElseThrow());
        if (follow.signature() != null) {
            followedSchema.put(follow.table(), follow.signature());
        }
        schemaChanges.increment(follow.ddl().size());
        LOG.info("writer {}: {} follows the source's schema change of {}: {}", service.name(), follow.table(), follow.source(), follow.ddl());
    }

    /** After the rollback of the transaction that needed it: the DDL alone, committed by itself. */
    private void followSchemaAlone(Connection c, DdlOutsideTransaction e) throws SQLException {
        c.setAutoCommit(true);
        try {
            followSchema(c, e.follow);
        } finally {
            c.setAutoCommit(false);
        }
    }

    /** Shapes (table and carried columns) of upserts already checked for a column the source dropped. */
    private final Set<String> checkedShapes = new HashSet<>();
    /** Per target table, every column its rows have carried since the writer started. */
    private final Map<TableId, Set<String>> carriedColumns = new HashMap<>();

    /**
     * Rows that no longer carry a column the source had at start and the service table still has: if the
     * monolith dropped it (a nullable column, which the service never rejects rows for), the service table
     * drops it too, in this transaction. Checked once per shape of rows; only for routes followed from the
     * monolith's catalog (not transformed by a custom transform).
     */
    private void followDroppedColumns(Connection c, ApplyBatch.Group group) throws SQLException {
        TableRoute route = routesByTarget.get(group.table());
        if (options.source().isEmpty() || route == null || route.transform().custom().isPresent()) {
            return;
        }
        // the columns rows of this table have carried: only those can be "dropped in the source" (a column only the
        // service has never appears in a row, and is never touched)
        Set<String> carried = carriedColumns.computeIfAbsent(group.table(), t -> new HashSet<>());
        carried.addAll(group.columns());
        if (!checkedShapes.add(group.table() + "|" + group.columns())) {
            return;
        }
        TableSchema atStart = sourceSchemas.get(route.from());
        // the service table as it is now: an operator may have changed it (a paused table's fix)
        TableSchema target = dialect.catalog(c).table(group.table()).orElse(null);
        if (atStart == null || target == null) {
            return;
        }
        targetSchemas.put(group.table(), target);
        Set<String> candidates = new java.util.TreeSet<>(carried);
        atStart.columns().forEach(column -> route.targetColumn(column.name()).ifPresent(candidates::add));
        List<String> missing = new ArrayList<>();
        for (String name : candidates) {
            if (!group.columns().contains(name) && target.column(name).isPresent() && !target.primaryKey().contains(name)
                    && !name.equals(WriterDialect.VERSION_COLUMN) && !route.transform().derived().containsKey(name)) {
                missing.add(route.sourceColumn(name));
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        Optional<TableSchema> live;
        try (Connection source = StartupChecks.connect(options.source().get())) {
            live = sourceCatalog(source).table(route.from());
        }
        if (live.isEmpty()) {
            return;
        }
        for (ColumnSchema column : live.get().columns()) {
            Optional<String> name = route.targetColumn(column.name());
            if (name.isPresent() && target.column(name.get()).isEmpty()) {
                // a column gone and another new at once may be a rename: not guessed here (followSourceSchema says so
                // when the service rejects the new column, and the table pauses)
                return;
            }
        }
        List<String> ddl = new ArrayList<>();
        for (String column : missing) {
            if (live.get().column(column).isEmpty()) {
                ddl.add(dialect.dropColumn(group.table(), route.targetColumn(column).orElseThrow()));
            }
        }
        if (ddl.isEmpty()) {
            return;
        }
        followSchema(c, new SchemaFollow(group.table(), route.from(), ddl, null));
    }

    /**
     * A source TRUNCATE: every row of the target table goes, and so do its parked rows (they are older). If
     * the service refuses (a foreign key from a table the source did not truncate with it), the truncate is
     * dead-lettered (or stops the writer, per {@code onError}).
     */
    private void truncate(Connection c, ApplyBatch.Group group, List<DeadLetter> rejected, ParkChanges parking) throws SQLException {
        ApplyBatch.Row row = group.rows().get(0);
        Savepoint savepoint = c.setSavepoint();
        int deleted;
        try (Statement s = c.createStatement()) {
            deleted = s.executeUpdate(dialect.deleteAll(group.table()));
            c.releaseSavepoint(savepoint);
        } catch (SQLException e) {
            c.rollback(savepoint);
            if (dialect.isTransient(e)) {
                throw e;
            }
            String reason = "service " + service.name() + " rejected the truncate of " + group.table() + " (the source table was truncated): "
                    + Strings.firstLine(e.getMessage()) + " (SQLState " + e.getSQLState() + ")";
            stopIfAsked(group.table(), reason, row.source());
            LOG.warn("{}; sent to {}", reason, topics.deadLetters());
            rejected.add(deadLetter(row.source(), group.table(), row.record().version(), reason));
            return;
        }
        for (Map.Entry<String, ParkedRow> p : new ArrayList<>(parked.entrySet())) {
            if (p.getValue().table().equals(group.table())) {
                unpark(c, p.getKey(), p.getValue(), parking);
            }
        }
        LOG.info("writer {}: {} was truncated in the source; {} rows deleted", service.name(), group.table(), deleted);
    }

    private void executeGroup(Connection c, ApplyBatch.Group group, List<ApplyBatch.Row> rows, TableSchema target) throws SQLException {
        List<String> key = target.primaryKey();
        Map<String, ColumnSchema> types = target.byName();
        WriterDialect.Guard guard = !options.versionColumn() ? WriterDialect.Guard.UNVERSIONED
                : group.forced() ? WriterDialect.Guard.FORCED : WriterDialect.Guard.VERSIONED;
        String sql = switch (group.kind()) {
            case UPSERT -> dialect.upsert(group.table(), group.columns(), key, guard);
            case UPDATE -> dialect.update(group.table(), group.columns(), key, guard);
            case DELETE -> dialect.delete(group.table(), key, guard);
            case TRUNCATE -> throw new IllegalArgumentException("a truncate is not a group of rows");
        };
        boolean setsVersion = guard != WriterDialect.Guard.UNVERSIONED;
        boolean checksVersion = guard == WriterDialect.Guard.VERSIONED;
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (ApplyBatch.Row row : rows) {
                ApplyRecord r = row.record();
                int i = 1;
                switch (group.kind()) {
                    case UPSERT -> {
                        for (String column : group.columns()) {
                            dialect.bind(ps, i++, r.row().get(column), types.get(column));
                        }
                        if (setsVersion) {
                            ps.setLong(i, r.version());
                        }
                    }
                    case UPDATE -> {
                        for (String column : group.columns()) {
                            if (!key.contains(column)) {
                                dialect.bind(ps, i++, r.row().get(column), types.get(column));
                            }
                        }
                        if (setsVersion) {
                            ps.setLong(i++, r.version());
                        }
                        for (String column : key) {
                            dialect.bind(ps, i++, r.key().get(column), types.get(column));
                        }
                        if (checksVersion) {
                            ps.setLong(i, r.version());
                        }
                    }
                    case DELETE -> {
                        for (String column : key) {
                            dialect.bind(ps, i++, r.key().get(column), types.get(column));
                        }
                        if (checksVersion) {
                            ps.setLong(i, r.version());
                        }
                    }
                }
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (java.sql.BatchUpdateException e) {
            throw e.getNextException() != null ? e.getNextException() : e;
        }
    }

    /** A parked row: the apply record's version and target table. */
    private record ParkedRow(long version, TableId table) {
    }

    /** What one writer transaction parks and unparks; the in-memory index follows only after its commit. */
    private static final class ParkChanges {
        final Map<String, ParkedRow> parkedNow = new HashMap<>();
        final Map<String, ParkedRow> unparked = new HashMap<>();

        void applyTo(JdbcApplyWriter writer) {
            unparked.forEach((key, row) -> {
                if (writer.parked.remove(key) != null) {
                    writer.parkedPerTable.merge(row.table(), -1, (a, b) -> a + b == 0 ? null : a + b);
                }
            });
            parkedNow.forEach((key, row) -> {
                if (writer.parked.put(key, row) == null) {
                    writer.parkedPerTable.merge(row.table(), 1, Integer::sum);
                }
            });
            writer.parkedRows.increment(parkedNow.size());
            writer.updateParkedGauges();
        }
    }

    private static final long PARKED_RETRY_IDLE_MS = 5_000;

    /** Rows parked now, and those of them that wait for a table being copied or paused (not for a parent row). */
    private void updateParkedGauges() {
        parkedGauge.set(parked.size());
        parkedWaitingForTableGauge.set(parkedPerTable.entrySet().stream().filter(e -> copying.contains(e.getKey()) || narrowed.containsKey(e.getKey()))
                .mapToLong(Map.Entry::getValue).sum());
    }

    private void loadParked(Connection c) throws SQLException {
        parked.clear();
        parkedPerTable.clear();
        try (PreparedStatement ps = c.prepareStatement(dialect.parkedIndex())) {
            ps.setString(1, writerName);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String key = rs.getString(1);
                    TableId table = TableId.parse(key.substring(0, key.indexOf('|')));
                    parked.put(key, new ParkedRow(rs.getLong(2), table));
                    parkedPerTable.merge(table, 1, Integer::sum);
                }
            }
        }
        c.commit();
        updateParkedGauges();
        if (!parked.isEmpty()) {
            LOG.info("writer {} has {} parked rows waiting for their parent rows", service.name(), parked.size());
        }
    }

    private void park(Connection c, ApplyBatch.Row row, String reason, ParkChanges parking) throws SQLException {
        parkAll(c, List.of(row), reason, parking);
        LOG.debug("{}; parked until its parent row arrives", reason);
    }

    /** Parks rows in one batch (the newest per key: a parked row of the same key is replaced by a newer one). */
    private void parkAll(Connection c, List<ApplyBatch.Row> rows, String reason, ParkChanges parking) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(dialect.park())) {
            for (ApplyBatch.Row row : rows) {
                ConsumerRecord<byte[], byte[]> source = row.source();
                ps.setString(1, writerName);
                ps.setString(2, row.record().kafkaKey());
                ps.setString(3, row.record().table().toString());
                ps.setLong(4, row.record().version());
                ps.setString(5, reason);
                // the change as the batch holds it (an update may have been laid over an older change of its key)
                ps.setBytes(6, row.record().toBytes());
                ps.setString(7, source.topic());
                ps.setInt(8, source.partition());
                ps.setLong(9, source.offset());
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (java.sql.BatchUpdateException e) {
            throw e.getNextException() != null ? e.getNextException() : e;
        }
        for (ApplyBatch.Row row : rows) {
            String key = row.record().kafkaKey();
            parking.unparked.remove(key);
            ParkedRow now = new ParkedRow(row.record().version(), row.record().table());
            parking.parkedNow.merge(key, now, (a, b) -> a.version() >= b.version() ? a : b);
        }
    }

    private void unpark(Connection c, String key, ParkedRow row, ParkChanges parking) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(dialect.unpark())) {
            ps.setString(1, writerName);
            ps.setString(2, key);
            ps.executeUpdate();
        }
        parking.unparked.put(key, row);
    }

    /**
     * A parked row whose key has a change in this batch is replaced by it: the newer change decides. An update
     * that left TOAST values alone is laid over the parked change first (an insert parked for its missing parent,
     * then updated, must stay an insert, or the row would never reach the service).
     */
    private void supersedeParked(Connection c, ApplyBatch batch, ParkChanges parking) throws SQLException {
        for (ApplyBatch.Row row : List.copyOf(batch.rows())) {
            if (!parkedPerTable.containsKey(row.record().table())) {
                continue;
            }
            String key = row.record().kafkaKey();
            ParkedRow old = parked.get(key);
            if (old != null && old.version() <= row.record().version()) {
                if (!row.record().unchanged().isEmpty()) {
                    parkedRecord(c, key).ifPresent(older -> batch.replace(new ApplyBatch.Row(row.record().over(older), row.source())));
                }
                unpark(c, key, old, parking);
            }
        }
    }

    private java.util.Optional<ApplyRecord> parkedRecord(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(dialect.parkedRecord())) {
            ps.setString(1, writerName);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? java.util.Optional.of(ApplyRecord.fromBytes(rs.getBytes(1))) : java.util.Optional.empty();
            }
        }
    }

    /** Retries the next page of the sweep over all parked rows, in a transaction of its own (nothing else arrives). */
    private void retryParkedAlone(Connection c) throws SQLException {
        List<DeadLetter> rejected = new ArrayList<>();
        ParkChanges parking = new ParkChanges();
        try {
            markOrigin(c, 0);
            if (order.deferConstraints()) {
                execute(c, "SET CONSTRAINTS ALL DEFERRED");
            }
            retryParked(c, rejected, parking, Set.copyOf(parkedPerTable.keySet()), true);
            if (order.deferConstraints()) {
                execute(c, "SET CONSTRAINTS ALL IMMEDIATE");
            }
            sendDeadLetters(rejected);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(c);
            if (e instanceof DdlOutsideTransaction ddl) {
                followSchemaAlone(c, ddl);
            }
            throw e;
        }
        parking.applyTo(this);
    }

    /**
     * Retries a page of parked rows of some tables, parents first (a chain of parked rows resolves in one
     * pass), and sends those parked longer than the park timeout to the dead-letter topic. A sweep goes on
     * from where the last sweep stopped, so rows that still wait cannot hold back those behind them;
     * otherwise the page starts at the first parent table.
     */
    private void retryParked(Connection c, List<DeadLetter> rejected, ParkChanges parking, Set<TableId> asked, boolean sweep)
            throws SQLException {
        lastParkedRetryMs = clock.millis();
        // rows of tables being copied wait for the copy's end
        Set<TableId> tables = new HashSet<>(asked);
        tables.removeAll(copying);
        tables.removeAll(narrowed.keySet());
        if (tables.isEmpty()) {
            lastRetryFreedRows = 0;
            return;
        }
        ApplyBatch retry = new ApplyBatch(order.positions());
        Map<String, ParkedRow> candidates = new HashMap<>();
        String[] tablesInOrder = order.positions().entrySet().stream().sorted(Map.Entry.comparingByValue())
                .map(e -> e.getKey().toString()).toArray(String[]::new);
        int page = 0;
        try (PreparedStatement ps = c.prepareStatement(dialect.nextParked())) {
            ps.setLong(1, settings.parkTimeout().toSeconds());
            dialect.bindTextList(c, ps, 2, tablesInOrder);
            ps.setString(3, writerName);
            ps.setInt(4, sweep ? retryCursorPosition : -1);
            ps.setLong(5, sweep ? retryCursorSeq : -1);
            dialect.bindTextList(c, ps, 6, tables.stream().map(TableId::toString).toArray(String[]::new));
            ps.setInt(7, settings.maxBatchRows());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    page++;
                    if (sweep) {
                        retryCursorPosition = rs.getInt(8);
                        retryCursorSeq = rs.getLong(9);
                    }
                    String key = rs.getString(1);
                    ParkedRow known = parked.get(key);
                    if (known == null || parking.unparked.containsKey(key) || parking.parkedNow.containsKey(key)) {
                        continue;
                    }
                    byte[] value = rs.getBytes(2);
                    ConsumerRecord<byte[], byte[]> source = new ConsumerRecord<>(rs.getString(3), rs.getInt(4), rs.getLong(5),
                            ApplyRecord.kafkaKeyBytes(key), value);
                    if (rs.getBoolean(7)) {
                        String reason = rs.getString(6) + "; parked longer than writer.parkTimeout (" + settings.parkTimeout()
                                + ") without its parent row arriving";
                        stopIfAsked(known.table(), reason, source);
                        LOG.warn("{}; sent to {}", reason, topics.deadLetters());
                        rejected.add(deadLetter(source, known.table(), known.version(), reason));
                        unpark(c, key, known, parking);
                        continue;
                    }
                    retry.add(ApplyRecord.fromBytes(value), source);
                    candidates.put(key, known);
                }
            }
        }
        if (sweep && page < settings.maxBatchRows()) {
            // the sweep reached the end: the next one starts again from the first parent table
            retryCursorPosition = -1;
            retryCursorSeq = -1;
        }
        // a row that still misses its parent is parked again by applyGroup: an update of its parked row,
        // which keeps the time it was first parked
        for (ApplyBatch.Group group : retry.groups()) {
            applyGroup(c, group, rejected, parking);
        }
        int written = 0;
        for (Map.Entry<String, ParkedRow> candidate : candidates.entrySet()) {
            if (parking.parkedNow.remove(candidate.getKey()) == null) {
                unpark(c, candidate.getKey(), candidate.getValue(), parking);
                written++;
                resumeIfPaused(candidate.getValue().table());
            }
        }
        lastRetryFreedRows = written;
        if (!candidates.isEmpty()) {
            LOG.atLevel(written > 0 ? org.slf4j.event.Level.INFO : org.slf4j.event.Level.DEBUG).log(
                    "writer {} retried {} parked rows: {} left the park (written or dead-lettered), {} still wait for their parent rows",
                    service.name(), candidates.size(), written, candidates.size() - written);
        }
    }

    /** Two-way: the transaction's first change says it is the writer's, so capture's changes of it are not sent back. */
    private void markOrigin(Connection c, long through) throws SQLException {
        if (options.originMarker().isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(dev.strangler.connectors.internal.PostgresDialect.markOrigin())) {
            ps.setLong(1, through);
            ps.setString(2, writerName);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("the marker row of writer " + writerName + " is missing from strangler_origin; "
                        + "it is created at start: restart the writer", "55000");
            }
        }
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private void storeOffsets(Connection c, Map<TopicPartition, Long> nextOffsets) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(dialect.upsertOffset())) {
            for (Map.Entry<TopicPartition, Long> e : nextOffsets.entrySet()) {
                ps.setString(1, writerName);
                ps.setString(2, e.getKey().topic());
                ps.setInt(3, e.getKey().partition());
                ps.setLong(4, e.getValue());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private DeadLetter deadLetter(ConsumerRecord<byte[], byte[]> record, TableId table, long version, String reason) {
        return new DeadLetter(name(), DeadLetter.Stage.WRITE, reason, record.topic(), record.partition(), record.offset(),
                table == null ? null : table.toString(), version, record.key(), record.value());
    }

    /** Thrown for a row of a table with {@code onError: stop}: the writer fails, its transaction rolled back. */
    private static final class StopRequested extends RuntimeException {
        StopRequested(String message) {
            super(message, null, false, false);
        }
    }

    private void stopIfAsked(TableId table, String reason, ConsumerRecord<byte[], byte[]> source) {
        TableRoute route = routesByTarget.get(table);
        if (route != null && route.onError() == TableRoute.OnError.STOP) {
            throw new StopRequested(reason + " (" + source.topic() + "@" + source.offset() + "; " + route.path()
                    + ".onError is stop): fix the cause and restart the writer; it resumes at this row");
        }
    }

    /** Dead letters are sent (and acknowledged) before the transaction that skips them commits. */
    private void sendDeadLetters(List<DeadLetter> rejected) {
        if (rejected.isEmpty()) {
            return;
        }
        try {
            for (DeadLetter letter : rejected) {
                deadLetterProducer.send(new ProducerRecord<>(topics.deadLetters(), letter.originalKey(), letter.toBytes())).get(30, TimeUnit.SECONDS);
                deadLetters.increment();
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot write to the dead-letter topic " + topics.deadLetters() + ": " + e.getMessage(), e);
        }
    }

    private void updateLag(KafkaConsumer<byte[], byte[]> kafkaConsumer, List<TopicPartition> partitions) {
        long lag = 0;
        for (TopicPartition tp : partitions) {
            lag += kafkaConsumer.currentLag(tp).orElse(0);
        }
        consumerLag.set(lag);
    }

    private TableMeters meters(TableId table) {
        return tableMeters.computeIfAbsent(table, t -> new TableMeters(
                Counter.builder(MetricNames.APPLY_ROWS).tag(MetricNames.TAG_SERVICE, service.name()).tag(MetricNames.TAG_TARGET_TABLE, t.toString())
                        .description("rows committed to the service database").register(metrics),
                Timer.builder(MetricNames.E2E_LATENCY).tag(MetricNames.TAG_SERVICE, service.name()).tag(MetricNames.TAG_TARGET_TABLE, t.toString())
                        .description("source commit to target commit").publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(metrics),
                registerLagGauge(t)));
    }

    private AtomicLong registerLagGauge(TableId table) {
        AtomicLong lag = new AtomicLong();
        metrics.gauge(MetricNames.E2E_LAG, List.of(io.micrometer.core.instrument.Tag.of(MetricNames.TAG_SERVICE, service.name()),
                io.micrometer.core.instrument.Tag.of(MetricNames.TAG_TARGET_TABLE, table.toString())), lag);
        return lag;
    }

    private record TableMeters(Counter rows, Timer latency, AtomicLong lastLagMillis) {
        void record(long[] sourceMicros, long committedMicros) {
            rows.increment(sourceMicros.length);
            for (long micros : sourceMicros) {
                latency.record(Math.max(0, committedMicros - micros), TimeUnit.MICROSECONDS);
            }
            if (sourceMicros.length > 0) {
                lastLagMillis.set(Math.max(0, (committedMicros - sourceMicros[sourceMicros.length - 1]) / 1000));
            }
        }
    }

    public void stop() {
        if (!state.tryMoveTo(ComponentState.STOPPING)) {
            return;
        }
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        Thread copy = copyThread;
        if (copy != null) {
            copy.interrupt();
            try {
                copy.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Thread t = thread;
        if (t != null) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (deadLetterProducer != null) {
            deadLetterProducer.close(Duration.ofSeconds(5));
        }
        state.tryMoveTo(ComponentState.STOPPED);
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.debug("rollback failed: {}", e.toString());
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
