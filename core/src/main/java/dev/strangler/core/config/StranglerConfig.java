package dev.strangler.core.config;

import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole configuration of a Strangler deployment, read from one YAML file by {@link ConfigLoader}.
 * Every value here has been validated; see docs/configuration.md for each key.
 */
public record StranglerConfig(KafkaSettings kafka, DatabaseSettings monolith, CaptureSettings capture,
                              Map<String, ServiceSettings> services, SyncSettings sync, WriterSettings writer,
                              HttpSettings http, ValidatorSettings validator,
                              java.util.Optional<RouterSettings> router) {

    public StranglerConfig {
        services = Map.copyOf(services);
    }

    public TopicNames topics() {
        return new TopicNames(kafka.topicPrefix());
    }

    /** Every monolith table some service receives, in a stable order. */
    public Set<TableId> capturedTables() {
        Set<TableId> tables = new LinkedHashSet<>();
        services.values().stream()
                .flatMap(s -> s.tables().stream())
                .map(TableRoute::from)
                .sorted()
                .forEach(tables::add);
        return tables;
    }

    /** The configured {@code key:} of every captured table that has one (tables without a primary key). */
    public Map<TableId, List<String>> configuredKeys() {
        Map<TableId, List<String>> keys = new java.util.LinkedHashMap<>();
        services.values().stream().flatMap(s -> s.tables().stream()).filter(r -> !r.key().isEmpty())
                .forEach(r -> keys.putIfAbsent(r.from(), r.key()));
        return keys;
    }

    /** Services in name order. */
    public List<ServiceSettings> serviceList() {
        return services.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }
}
