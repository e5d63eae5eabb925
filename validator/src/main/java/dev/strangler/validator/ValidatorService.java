package dev.strangler.validator;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentLifecycle;
import dev.strangler.core.ComponentState;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.DatabaseSettings;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.TableRoute;
import dev.strangler.core.config.ValidatorSettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The validator as a long-running service: every route's table is validated every
 * {@code validator.interval}, one table at a time, no faster than {@code validator.maxRowsPerSecond};
 * each finished pass is published to the compacted {@code <prefix>.validation} topic (key
 * {@code service/table}) and to metrics. A pass writes a checkpoint to the same record every
 * {@value #CHECKPOINT_SEGMENTS} segments; after a restart, a table whose pass was cut short resumes
 * from it. The first pass starts 10 s after the service (or one interval, if that is shorter). A table that fails (a database down, a table dropped) is reported and retried at its next
 * turn; the others go on.
 */
public final class ValidatorService implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(ValidatorService.class);
    static final int CHECKPOINT_SEGMENTS = 20;
    private static final Duration FIRST_PASS_AFTER = Duration.ofSeconds(10);

    private final DatabaseSettings monolith;
    private final List<ServiceSettings> services;
    private final ValidatorSettings settings;
    private final KafkaEndpoint kafka;
    private final TopicNames topics;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final ComponentLifecycle state = new ComponentLifecycle("validator");
    private final Map<String, TableMeters> meters = new ConcurrentHashMap<>();
    private final Map<String, ValidationRecords.TableState> states = new ConcurrentHashMap<>();
    private final AtomicReference<Thread> thread = new AtomicReference<>();
    private KafkaProducer<String, byte[]> producer;

    private final byte[] maskKey;

    public ValidatorService(DatabaseSettings monolith, List<ServiceSettings> services, ValidatorSettings settings, KafkaEndpoint kafka,
                            TopicNames topics, MeterRegistry metrics, Clock clock) {
        this(monolith, services, settings, kafka, topics, metrics, clock, null);
    }

    /** @param maskKey {@code sync.maskKey}'s bytes (masked columns are compared through the same mask), or null */
    public ValidatorService(DatabaseSettings monolith, List<ServiceSettings> services, ValidatorSettings settings, KafkaEndpoint kafka,
                            TopicNames topics, MeterRegistry metrics, Clock clock, byte[] maskKey) {
        this.maskKey = maskKey;
        this.monolith = monolith;
        this.services = List.copyOf(services);
        this.settings = settings;
        this.kafka = kafka;
        this.topics = topics;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public String name() {
        return "validator";
    }

    @Override
    public ComponentState state() {
        return state.get();
    }

    @Override
    public Optional<String> failure() {
        return state.failure();
    }

    /** The latest finished report of each table validated so far, by {@code service/table}. */
    public Map<String, TableReport> latestReports() {
        Map<String, TableReport> out = new HashMap<>();
        states.forEach((key, s) -> s.last().ifPresent(r -> out.put(key, r)));
        return out;
    }

    public void start() {
        state.moveTo(ComponentState.STARTING);
        new KafkaTopics(kafka).ensureCompacted(Set.of(topics.validation()));
        readStates();
        producer = new KafkaProducer<>(kafka.clientConfig(Map.of("client.id", topics.prefix() + "-validator", "acks", "all")),
                new StringSerializer(), new ByteArraySerializer());
        Thread t = new Thread(this::run, "strangler-validator");
        t.setDaemon(true);
        thread.set(t);
        state.moveTo(ComponentState.RUNNING);
        t.start();
    }

    /** The validation topic, read to its end: the last report and any checkpoint per table. */
    private void readStates() {
        new KafkaTopics(kafka).readToEnd(topics.validation(), record -> {
            String key = new String(record.key(), java.nio.charset.StandardCharsets.UTF_8);
            if (record.value() == null) {
                states.remove(key);
                return;
            }
            try {
                states.put(key, ValidationRecords.stateFrom(record.value()));
            } catch (IllegalArgumentException e) {
                LOG.warn("ignoring unreadable record {} on {}: {}", key, topics.validation(), e.getMessage());
            }
        });
        states.forEach((key, s) -> s.last().ifPresent(r -> meters(key, r.service(), r.table()).update(r)));
    }

    private record Target(ServiceSettings service, TableRoute route) {
        String key() {
            return service.name() + "/" + route.to();
        }
    }

    private void run() {
        MDC.put("component", name());
        List<Target> targets = new ArrayList<>();
        services.forEach(s -> s.tables().forEach(r -> {
            if (r.transform().custom().isPresent()) {
                // a custom transform's rows are made in Java, from each change: no SQL computes them on the monolith's side
                LOG.info("{}/{}: not validated: the table has a custom transform (docs/transforms.md)", s.name(), r.to());
            } else {
                targets.add(new Target(s, r));
            }
        }));
        Instant notBefore = clock.instant().plus(FIRST_PASS_AFTER.compareTo(settings.interval()) < 0 ? FIRST_PASS_AFTER : settings.interval());
        while (state.get() == ComponentState.RUNNING) {
            Target next = null;
            Instant nextDue = null;
            for (Target t : targets) {
                Instant due = due(t, notBefore);
                if (nextDue == null || due.isBefore(nextDue)) {
                    next = t;
                    nextDue = due;
                }
            }
            if (next == null) {
                return;
            }
            long waitMs = Duration.between(clock.instant(), nextDue).toMillis();
            if (waitMs > 0) {
                sleep(Math.min(waitMs, 1000));
                continue;
            }
            try {
                validate(next);
            } catch (TableValidator.NotComparable e) {
                LOG.warn("{}", e.getMessage());
                targets.remove(next);
            }
        }
    }

    /** When a table's next pass is due: now if a pass was cut short, else an interval after the last one. */
    private Instant due(Target t, Instant notBefore) {
        ValidationRecords.TableState s = states.get(t.key());
        if (s == null || s.running().isPresent() || s.last().isEmpty()) {
            return notBefore;
        }
        Instant after = s.last().get().finishedAt().plus(settings.interval());
        return after.isBefore(notBefore) ? notBefore : after;
    }

    private void validate(Target t) {
        String key = t.key();
        ValidationRecords.TableState before = states.getOrDefault(key, new ValidationRecords.TableState(Optional.empty(), Optional.empty()));
        Checkpoint from = before.running().orElse(Checkpoint.start(clock.instant()));
        if (before.running().isPresent()) {
            LOG.info("{}: resuming the pass started {} after key {}", key, from.startedAt(), from.after());
        }
        TableMeters m = meters(key, t.service().name(), t.route().to().toString());
        List<Drift> drifts = new ArrayList<>();
        boolean autoRepair = t.route().repair() == TableRoute.Repair.AUTO;
        TableValidator validator = new TableValidator(settings.segmentRows(), settings.fetchRows(), settings.recheckAfter(),
                settings.sampleSize(), clock).withDriftListener(drift -> {
                    if (autoRepair && drifts.size() <= settings.autoRepairMaxRows()) {
                        drifts.add(drift);
                    }
                });
        try (Connection source = ValidatorConnections.open(monolith, "strangler-validator");
             Connection target = ValidatorConnections.open(t.service().database(), "strangler-validator")) {
            TablePlan plan = TablePlan.read(t.service().name(), t.route(), source, target, maskKey);
            RateLimit limit = new RateLimit(settings.maxRowsPerSecond(), m);
            TableReport report = validator.validate(plan, source, target, limit, from, CHECKPOINT_SEGMENTS,
                    checkpoint -> publish(key, new ValidationRecords.TableState(before.last(), Optional.of(checkpoint))));
            m.update(report);
            m.passes.increment();
            publish(key, new ValidationRecords.TableState(Optional.of(report), Optional.empty()));
            if (autoRepair && !report.consistent()) {
                repair(t, plan, source, report, drifts, m);
            }
            if (report.consistent()) {
                LOG.info("{}: consistent, {} rows in {} s", key, report.sourceRows(), report.duration().toSeconds());
            } else {
                LOG.warn("{}: DRIFT in {} rows ({} missing, {} extra, {} different); first: {}", key, report.drifted(), report.missing(),
                        report.extra(), report.different(), report.sample().stream().limit(5).toList());
            }
        } catch (TableValidator.NotComparable e) {
            throw e;
        } catch (SQLException | RuntimeException e) {
            if (state.get() != ComponentState.RUNNING) {
                return;
            }
            m.failures.increment();
            LOG.error("{}: validation failed ({}); next try in {}", key, e.getMessage(), settings.interval());
            // the next try comes an interval later, as after a finished pass; a checkpoint stays where it was
            states.put(key, new ValidationRecords.TableState(before.last().or(() -> Optional.of(failedPlaceholder(t))), Optional.empty()));
        }
    }

    /**
     * {@code repair: auto}: the drift of a pass is repaired through the apply path, unless there is more of
     * it than {@code validator.autoRepairMaxRows} (then a person should look first).
     */
    private void repair(Target t, TablePlan plan, Connection source, TableReport report, List<Drift> drifts, TableMeters m)
            throws SQLException {
        if (report.drifted() > settings.autoRepairMaxRows()) {
            LOG.warn("{}: {} drifted rows is more than validator.autoRepairMaxRows ({}); not repairing automatically. "
                    + "Look at the drift, then run strangler repair --table {}", t.key(), report.drifted(), settings.autoRepairMaxRows(), t.key());
            return;
        }
        List<TableRepair.Action> actions = new TableRepair(plan, t.route(), clock, maskKey).plan(source, drifts);
        int sent = TableRepair.send(actions, kafka, topics.apply(t.service().name()));
        m.repaired.increment(sent);
        LOG.warn("{}: repairing {} drifted rows through {} (repair: auto)", t.key(), sent, topics.apply(t.service().name()));
    }

    /** Stands for "tried and failed" so that the schedule waits an interval; never published. */
    private TableReport failedPlaceholder(Target t) {
        return new TableReport(t.service().name(), t.route().to().toString(), t.route().from().toString(), 0, 0, 0, 0, 0, 0, 0, 0,
                List.of(), Duration.ZERO, clock.instant());
    }

    private void publish(String key, ValidationRecords.TableState value) {
        states.put(key, value);
        try {
            producer.send(new ProducerRecord<>(topics.validation(), key, ValidationRecords.state(value))).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("cannot publish the validation of {} to {}: {}", key, topics.validation(), e.getMessage());
        }
    }

    /** Holds a pass to at most the given rows per second, and counts rows checked. */
    private final class RateLimit implements TableValidator.Progress {
        private final int maxRowsPerSecond;
        private final TableMeters meters;
        private final long started = System.nanoTime();
        private long counted;

        RateLimit(int maxRowsPerSecond, TableMeters meters) {
            this.maxRowsPerSecond = maxRowsPerSecond;
            this.meters = meters;
        }

        @Override
        public void rowsChecked(long checked, long estimatedTotal) {
            long fresh = checked - counted;
            if (fresh > 0) {
                meters.rowsChecked.increment(fresh);
                counted = checked;
            }
            if (maxRowsPerSecond <= 0) {
                return;
            }
            long dueNanos = (long) (counted * 1e9 / maxRowsPerSecond);
            long aheadMs = (dueNanos - (System.nanoTime() - started)) / 1_000_000;
            if (aheadMs > 0) {
                sleep(aheadMs);
            }
        }
    }

    private final class TableMeters {
        final Counter rowsChecked;
        final Counter passes;
        final Counter failures;
        final Counter repaired;
        volatile TableReport last;

        TableMeters(String service, String table) {
            Tags tags = Tags.of(MetricNames.TAG_SERVICE, service, MetricNames.TAG_TARGET_TABLE, table);
            rowsChecked = Counter.builder(MetricNames.VALIDATION_ROWS_CHECKED).tags(tags).description("rows compared by the validator").register(metrics);
            passes = Counter.builder(MetricNames.VALIDATION_PASSES).tags(tags).description("validation passes finished").register(metrics);
            failures = Counter.builder(MetricNames.VALIDATION_FAILURES).tags(tags).description("validation passes that failed").register(metrics);
            repaired = Counter.builder(MetricNames.VALIDATION_REPAIRED_ROWS).tags(tags)
                    .description("drifted rows the validator repaired by itself (repair: auto)").register(metrics);
            Gauge.builder(MetricNames.VALIDATION_CONSISTENCY, this, m -> m.last == null ? Double.NaN : m.last.matchingRatio()).tags(tags)
                    .description("share of rows that match in the last finished pass (1 = consistent)").register(metrics);
            Gauge.builder(MetricNames.VALIDATION_DRIFTED_ROWS, this, m -> m.last == null ? Double.NaN : m.last.drifted()).tags(tags)
                    .description("rows missing, extra or different in the last finished pass").register(metrics);
            Gauge.builder(MetricNames.VALIDATION_LAST_PASS_AGE, this,
                            m -> m.last == null ? Double.NaN : Duration.between(m.last.finishedAt(), clock.instant()).toMillis() / 1000.0)
                    .tags(tags).description("seconds since the last finished pass").register(metrics);
        }

        void update(TableReport report) {
            last = report;
        }
    }

    private TableMeters meters(String key, String service, String table) {
        return meters.computeIfAbsent(key, k -> new TableMeters(service, table));
    }

    public void stop() {
        if (!state.tryMoveTo(ComponentState.STOPPING)) {
            return;
        }
        Thread t = thread.get();
        if (t != null) {
            t.interrupt();
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        state.tryMoveTo(ComponentState.STOPPED);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
