package dev.strangler.cli;

import dev.strangler.connectors.ApplyListener;
import dev.strangler.connectors.JdbcApplyWriter;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.connectors.PostgresCapture;
import dev.strangler.connectors.StartupChecks;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentState;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigException;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.syncengine.SyncEngine;
import dev.strangler.syncengine.SyncPlan;
import dev.strangler.router.TrafficRouter;
import dev.strangler.validator.ValidatorService;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The components one Strangler process runs for a config: the embedded broker (with
 * {@code bootstrap: embedded}), capture, sync engine and one writer per service, started in an order
 * that lets each find what it needs, and stopped in reverse.
 */
public final class Pipeline implements AutoCloseable {

    /** Parts of the data path a process can run; {@code strangler run --services} picks them. */
    public enum Part {
        CAPTURE("capture"), SYNC_ENGINE("sync-engine"), WRITER("writer"), VALIDATOR("validator"), ROUTER("router");

        /** The parts that move data (everything but the validator). */
        public static final Set<Part> DATA_PATH = EnumSet.of(CAPTURE, SYNC_ENGINE, WRITER);

        private final String cliName;

        Part(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final StranglerConfig config;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final ApplyListener listener;
    private final List<Component> components = new ArrayList<>();
    private EmbeddedKafka embeddedKafka;
    private dev.strangler.connectors.DebeziumCapture capture;
    /** captures of two-way services' databases */
    private final List<PostgresCapture> serviceCaptures = new ArrayList<>();
    private SyncEngine syncEngine;
    private final List<JdbcApplyWriter> writers = new ArrayList<>();
    private ValidatorService validator;
    private TrafficRouter router;
    private KafkaEndpoint kafka;

    public Pipeline(StranglerConfig config, MeterRegistry metrics, Clock clock, ApplyListener listener) {
        this.config = config;
        this.metrics = metrics;
        this.clock = clock;
        this.listener = listener;
    }

    /**
     * Starts the parts asked for.
     *
     * @throws ConfigException when the config does not fit the databases (every problem listed)
     */
    public void start(Set<Part> parts) {
        String bootstrap = config.kafka().bootstrap();
        if (config.kafka().embedded()) {
            embeddedKafka = EmbeddedKafka.startPersistent(config.kafka().dataDir(), 0);
            bootstrap = embeddedKafka.bootstrapServers();
        }
        kafka = new KafkaEndpoint(bootstrap, config.kafka().clientProperties(), config.kafka().partitions(),
                config.kafka().replicationFactor());
        if (parts.contains(Part.ROUTER) && config.router().isEmpty()) {
            throw new ConfigException("the config", java.util.List.of(new dev.strangler.core.config.ConfigProblem("router",
                    "is required to run the router: add a router: section with routes (see docs/router.md)")));
        }
        if (parts.stream().allMatch(p -> p == Part.ROUTER)) {
            startRouter();
            registerComponentGauges();
            LOG.info("strangler started: {} on Kafka {}", parts, bootstrap);
            return;
        }
        StartupChecks.Result checks = StartupChecks.run(config);
        if (!checks.problems().isEmpty()) {
            throw new ConfigException("the databases named in the config", checks.problems());
        }
        TopicNames topics = config.topics();
        KafkaTopics admin = new KafkaTopics(kafka);
        SyncPlan plan = SyncPlan.fromConfig(config);
        // every topic the data path writes, made with one admin request (each request is a round to the controller)
        Map<String, Integer> logTopics = new LinkedHashMap<>();
        for (SyncPlan.Origin origin : plan.origins()) {
            plan.sourceTopics(origin).forEach(topic -> logTopics.put(topic, config.kafka().partitions()));
        }
        for (String target : plan.services()) {
            // One partition per target: the writer sees the target's rows in the order the engine routed them.
            logTopics.put(topics.apply(target), 1);
        }
        logTopics.put(topics.deadLetters(), 1);
        for (SyncPlan.Origin origin : plan.origins()) {
            if (origin.usesTransactions()) {
                // one partition each: transactions END in commit order, and meet their changes in one task
                logTopics.put(topics.transactions(origin.name()), 1);
                logTopics.put(topics.sequencer(origin.name()), 1);
            }
        }
        boolean twoWay = !plan.twoWay().isEmpty();
        boolean mariadbMonolith = config.monolith().type().binlog();
        if (twoWay) {
            logTopics.put(topics.conflicts(), 1);
            admin.ensureCompacted(Set.of(topics.rules()));
        }
        admin.ensureLogs(logTopics);

        if (parts.contains(Part.CAPTURE)) {
            // the monolith's capture first: its replication slot takes a moment to be created, and a copy of existing
            // rows (capture.snapshot: copy) starts only once it exists; nothing else waits for the capture
            if (twoWay) {
                ensureMarkerTable(config.monolith());
            }
            capture = mariadbMonolith
                    ? new dev.strangler.connectors.BinlogCapture(TopicNames.MONOLITH_ORIGIN, config.monolith(), config.capture(),
                    plan.monolith().capturedTables(), config.configuredKeys(), plan.usesTransactions(), kafka, topics, metrics, clock)
                    : new PostgresCapture(TopicNames.MONOLITH_ORIGIN, config.monolith(), config.capture(), plan.monolith().capturedTables(),
                    config.configuredKeys(), plan.usesTransactions(), kafka, topics, metrics, clock);
            components.add(capture);
            capture.start();
        }
        if (parts.contains(Part.WRITER)) {
            for (ServiceSettings service : config.serviceList()) {
                JdbcApplyWriter.Options options = new JdbcApplyWriter.Options(true, plan.twoWay().containsKey(service.name())
                        ? java.util.Optional.of(TopicNames.MONOLITH_ORIGIN) : java.util.Optional.empty());
                // columns the monolith adds, widens or drops are followed: its catalog (PostgreSQL or MariaDB) says how
                options = options.followingSchemaOf(config.monolith());
                if (config.capture().snapshot() == dev.strangler.core.config.CaptureSettings.SnapshotMode.COPY) {
                    // existing rows copied by the writer with COPY, table by table, while changes stream
                    options = options.copyingExistingRows(new JdbcApplyWriter.CopyFrom(config.monolith(), config.capture().slotName(),
                            config.capture().publicationName(), config.capture().copyChunkRows(), config.capture().copyThreads(),
                            config.capture().copyIndexMemory()));
                }
                startWriter(new JdbcApplyWriter(service, options, checks.sourceSchemas(), config.writer(), kafka, topics, metrics, clock, listener));
            }
            if (config.capture().snapshot() == dev.strangler.core.config.CaptureSettings.SnapshotMode.COPY) {
                JdbcApplyWriter.registerCopyProgress(metrics, config.monolith(), List.copyOf(writers));
            }
            plan.twoWay().forEach((service, routes) -> {
                // the monolith as the target of the service's changes: the routes inverted, its tables left as they are
                ServiceSettings monolith = new ServiceSettings(TopicNames.monolithTarget(service), config.monolith(),
                        routes.stream().map(dev.strangler.core.config.TableRoute::inverse).toList(), false);
                startWriter(new JdbcApplyWriter(monolith, new JdbcApplyWriter.Options(false, java.util.Optional.of(service)),
                        Map.of(), config.writer(), kafka, topics, metrics, clock, listener));
            });
        }
        if (parts.contains(Part.SYNC_ENGINE)) {
            syncEngine = new SyncEngine(plan, config.sync(), kafka, metrics);
            components.add(syncEngine);
            syncEngine.start();
        }
        if (parts.contains(Part.CAPTURE)) {
            // a two-way service's capture after its writer, which creates the tables it captures
            for (SyncPlan.Origin origin : plan.origins()) {
                if (origin.monolith()) {
                    continue;
                }
                ServiceSettings service = config.services().get(origin.name());
                ensureMarkerTable(service.database());
                PostgresCapture reverse = new PostgresCapture(origin.name(), service.database(), serviceCapture(origin.name()),
                        origin.capturedTables(), Map.of(), true, kafka, topics, metrics, clock);
                serviceCaptures.add(reverse);
                components.add(reverse);
                reverse.start();
            }
        }
        if (parts.contains(Part.VALIDATOR)) {
            validator = new ValidatorService(config.monolith(), config.serviceList(), config.validator(), kafka, topics, metrics, clock,
                    config.sync().maskKeyBytes());
            components.add(validator);
            validator.start();
        }
        if (config.router().isPresent() && parts.contains(Part.ROUTER)) {
            startRouter();
        }
        registerComponentGauges();
        LOG.info("strangler started: {} on Kafka {}", parts, bootstrap);
    }

    private void startWriter(JdbcApplyWriter writer) {
        writers.add(writer);
        components.add(writer);
        writer.start();
    }

    /**
     * Capture settings of a two-way service's database: no initial copy (its rows came from the monolith),
     * its own slot and publication, named after the monolith's with the service's name appended.
     */
    private dev.strangler.core.config.CaptureSettings serviceCapture(String service) {
        return serviceCapture(config, service);
    }

    /** The capture settings of a two-way service's database (its slot and publication names). */
    static dev.strangler.core.config.CaptureSettings serviceCapture(StranglerConfig config, String service) {
        dev.strangler.core.config.CaptureSettings monolith = config.capture();
        String suffix = "_" + service.replace('-', '_');
        return new dev.strangler.core.config.CaptureSettings(dev.strangler.core.config.CaptureSettings.SnapshotMode.NEVER,
                monolith.pollInterval(), monolith.heartbeatInterval(), monolith.slotName() + suffix, monolith.publicationName() + suffix);
    }

    private static void ensureMarkerTable(dev.strangler.core.config.DatabaseSettings database) {
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            dev.strangler.connectors.OriginMarkers.ensureTable(c);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot create the two-way marker table strangler_origin in " + database.url() + ": " + e.getMessage(), e);
        }
    }

    private void registerComponentGauges() {
        for (Component component : components) {
            io.micrometer.core.instrument.Gauge.builder(dev.strangler.core.MetricNames.COMPONENT_UP, component,
                            c -> c.state() == ComponentState.RUNNING ? 1 : 0)
                    .tag(dev.strangler.core.MetricNames.TAG_COMPONENT, component.name())
                    .description("1 when the component runs, 0 otherwise").register(metrics);
        }
    }

    private void startRouter() {
        router = new TrafficRouter(config.router().orElseThrow(), kafka, config.topics().routes(), metrics, clock,
                new ProcessReplicationHealth(config, metrics, kafka, clock), java.time.Duration.ofSeconds(1));
        components.add(router);
        router.start();
    }

    public void start() {
        start(allParts(config));
    }

    /** Every part the config can run: all of them, the router only when the config has a router: section. */
    public static Set<Part> allParts(StranglerConfig config) {
        Set<Part> parts = EnumSet.allOf(Part.class);
        if (config.router().isEmpty()) {
            parts.remove(Part.ROUTER);
        }
        return parts;
    }

    /** The traffic router, when this process runs it. */
    public java.util.Optional<TrafficRouter> router() {
        return java.util.Optional.ofNullable(router);
    }

    public List<Component> components() {
        return List.copyOf(components);
    }

    public KafkaEndpoint kafka() {
        return kafka;
    }

    public List<JdbcApplyWriter> writers() {
        return List.copyOf(writers);
    }

    /** Events captured from the monolith since start, or 0 when this process does not capture. */
    public long capturedEvents() {
        return capture == null ? 0 : capture.capturedEvents();
    }

    /** Events captured from two-way services' databases since start. */
    public long capturedServiceEvents() {
        return serviceCaptures.stream().mapToLong(PostgresCapture::capturedEvents).sum();
    }

    public long appliedRows() {
        return writers.stream().mapToLong(JdbcApplyWriter::appliedRows).sum();
    }

    public boolean healthy() {
        return components.stream().allMatch(c -> c.state().healthy());
    }

    /** The first component that failed, if any. */
    public java.util.Optional<Component> failed() {
        return components.stream().filter(c -> c.state() == ComponentState.FAILED).findFirst();
    }

    /** The validator service, when this process runs it. */
    public java.util.Optional<ValidatorService> validator() {
        return java.util.Optional.ofNullable(validator);
    }

    @Override
    public void close() {
        if (router != null) {
            router.stop();
        }
        if (validator != null) {
            validator.stop();
        }
        if (capture != null) {
            capture.stop();
        }
        serviceCaptures.forEach(PostgresCapture::stop);
        if (syncEngine != null) {
            syncEngine.stop();
        }
        writers.forEach(JdbcApplyWriter::stop);
        if (embeddedKafka != null) {
            embeddedKafka.close();
        }
        LOG.info("strangler stopped");
    }
}
