package dev.strangler.cli;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;
import dev.strangler.router.ReplicationHealth;
import dev.strangler.validator.TableReport;
import dev.strangler.validator.ValidationRecords;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the router's gates know in this process. Lag: the larger of the capture lag of the table and,
 * for each service receiving it, the writer's end-to-end lag (0 while the writer has nothing left to
 * read) — known only where the capture or writer runs in this process. Consistency: the validator's
 * latest finished report of every service copy of the table, read from the validation topic (so the
 * validator may run anywhere), refreshed at most every 10 seconds. A router run apart from capture and
 * writers reads the same lag figures from their {@code /api/status} (router.lagFrom).
 */
final class ProcessReplicationHealth implements ReplicationHealth {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessReplicationHealth.class);
    private static final Duration REFRESH = Duration.ofSeconds(10);

    private final StranglerConfig config;
    private final MeterRegistry metrics;
    private final KafkaEndpoint kafka;
    private final Clock clock;
    private volatile Map<String, TableReport> reports = Map.of();
    private volatile Instant readAt = Instant.EPOCH;

    ProcessReplicationHealth(StranglerConfig config, MeterRegistry metrics, KafkaEndpoint kafka, Clock clock) {
        this.config = config;
        this.metrics = metrics;
        this.kafka = kafka;
        this.clock = clock;
    }

    @Override
    public Optional<Duration> lag(TableId table) {
        List<Double> lags = new ArrayList<>();
        Gauge capture = metrics.find(MetricNames.CAPTURE_LAG).tag(MetricNames.TAG_ORIGIN, dev.strangler.core.TopicNames.MONOLITH_ORIGIN).tag(MetricNames.TAG_TABLE, table.toString()).gauge();
        if (capture != null) {
            lags.add(capture.value());
        }
        for (ServiceSettings service : config.serviceList()) {
            for (TableRoute route : service.tables()) {
                if (!route.from().equals(table)) {
                    continue;
                }
                Gauge pending = metrics.find(MetricNames.WRITER_CONSUMER_LAG).tag(MetricNames.TAG_SERVICE, service.name()).gauge();
                if (pending == null) {
                    continue;
                }
                Gauge e2e = metrics.find(MetricNames.E2E_LAG).tag(MetricNames.TAG_SERVICE, service.name())
                        .tag(MetricNames.TAG_TARGET_TABLE, route.to().toString()).gauge();
                lags.add(pending.value() == 0 || e2e == null ? 0 : e2e.value());
            }
        }
        if (lags.isEmpty()) {
            lags.addAll(remoteLags(table));
        }
        return lags.stream().max(Double::compare).map(ms -> Duration.ofMillis(Math.round(ms)));
    }

    /** The same figures from the processes named in router.lagFrom (a router run apart from capture and writers). */
    private List<Double> remoteLags(TableId table) {
        List<Double> lags = new ArrayList<>();
        List<java.net.URI> sources = config.router().map(r -> r.lagFrom()).orElse(List.of());
        for (java.net.URI base : sources) {
            Optional<com.fasterxml.jackson.databind.JsonNode> answer = remoteStatus(base);
            if (answer.isEmpty()) {
                continue;
            }
            com.fasterxml.jackson.databind.JsonNode status = answer.get();
            for (com.fasterxml.jackson.databind.JsonNode t : status.path("tables")) {
                if (t.path("table").asText().equals(table.toString()) && t.has("captureLagMs")) {
                    lags.add(t.path("captureLagMs").asDouble());
                }
            }
            for (ServiceSettings service : config.serviceList()) {
                for (TableRoute route : service.tables()) {
                    if (!route.from().equals(table)) {
                        continue;
                    }
                    for (com.fasterxml.jackson.databind.JsonNode t : status.path("targets")) {
                        if (t.path("service").asText().equals(service.name()) && t.path("table").asText().equals(route.to().toString())
                                && t.has("writerBacklog")) {
                            lags.add(t.path("writerBacklog").asDouble() == 0 ? 0 : t.path("e2eLagMs").asDouble());
                        }
                    }
                }
            }
        }
        return lags;
    }

    private final Map<java.net.URI, Map.Entry<Instant, Optional<com.fasterxml.jackson.databind.JsonNode>>> remote = new ConcurrentHashMap<>();
    private final ProcessStatusClient http = new ProcessStatusClient(Duration.ofSeconds(3));

    /** A process's /api/status, fetched at most every 2 s; empty when it does not answer. */
    private Optional<com.fasterxml.jackson.databind.JsonNode> remoteStatus(java.net.URI base) {
        Instant now = clock.instant();
        var cached = remote.get(base);
        if (cached != null && Duration.between(cached.getKey(), now).compareTo(Duration.ofSeconds(2)) < 0) {
            return cached.getValue();
        }
        Optional<com.fasterxml.jackson.databind.JsonNode> status = http.tryGet(base, "/api/status");
        if (status.isEmpty()) {
            LOG.debug("lag source {} does not answer", base);
        }
        remote.put(base, Map.entry(now, status));
        return status;
    }

    @Override
    public Optional<Boolean> consistent(TableId table) {
        refresh();
        List<TableReport> of = reports.values().stream().filter(r -> r.sourceTable().equals(table.toString())).toList();
        if (of.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(of.stream().allMatch(TableReport::consistent));
    }

    private void refresh() {
        Instant now = clock.instant();
        if (Duration.between(readAt, now).compareTo(REFRESH) < 0) {
            return;
        }
        readAt = now;
        Map<String, TableReport> latest = new ConcurrentHashMap<>();
        try {
            String topic = config.topics().validation();
            new KafkaTopics(kafka).ensureCompacted(java.util.Set.of(topic));
            new KafkaTopics(kafka).readToEnd(topic, record -> {
                if (record.value() == null) {
                    return;
                }
                try {
                    ValidationRecords.stateFrom(record.value()).last().ifPresent(r -> latest.put(r.service() + "/" + r.table(), r));
                } catch (IllegalArgumentException e) {
                    LOG.debug("skipping an unreadable validation record: {}", e.getMessage());
                }
            });
            reports = Map.copyOf(latest);
        } catch (RuntimeException e) {
            LOG.warn("cannot read the validation topic for the router's consistency gate: {}", e.getMessage());
        }
    }
}
