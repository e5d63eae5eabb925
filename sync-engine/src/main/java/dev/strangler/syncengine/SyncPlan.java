package dev.strangler.syncengine;

import dev.strangler.core.TableId;
import dev.strangler.core.TableMapping;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.config.TableRoute;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the sync engine does, as data: for each captured monolith table, the services that receive it
 * and the mapping each applies. Built from the config; the topology is a pure function of it.
 */
public final class SyncPlan {

    /** One service's mapping of one source table. */
    public record Destination(String service, TableMapping mapping) {
    }

    private final TopicNames topics;
    private final String origin;
    private final Map<TableId, List<Destination>> bySource;
    private final Set<String> services;

    public SyncPlan(TopicNames topics, String origin, Map<TableId, List<Destination>> bySource, Set<String> services) {
        this.topics = topics;
        this.origin = origin;
        this.bySource = Map.copyOf(bySource);
        this.services = Set.copyOf(services);
    }

    /** The one-way plan from the monolith to every configured service. */
    public static SyncPlan fromConfig(StranglerConfig config) {
        Map<TableId, List<Destination>> bySource = new LinkedHashMap<>();
        Set<String> services = new LinkedHashSet<>();
        for (ServiceSettings service : config.serviceList()) {
            services.add(service.name());
            for (TableRoute route : service.tables()) {
                bySource.computeIfAbsent(route.from(), t -> new ArrayList<>()).add(new Destination(service.name(), new TableMapping(route)));
            }
        }
        return new SyncPlan(config.topics(), TopicNames.MONOLITH_ORIGIN, bySource, services);
    }

    public TopicNames topics() {
        return topics;
    }

    public List<String> sourceTopics() {
        return bySource.keySet().stream().sorted().map(t -> topics.cdc(origin, t)).toList();
    }

    public List<Destination> destinations(TableId source) {
        return bySource.getOrDefault(source, List.of());
    }

    public Set<String> services() {
        return services;
    }

    public String origin() {
        return origin;
    }

    /** Whether some table is applied with transaction consistency, which needs the sequencer. */
    public boolean usesTransactions() {
        return bySource.values().stream().flatMap(List::stream)
                .anyMatch(d -> d.mapping().route().consistency() == TableRoute.Consistency.TRANSACTION);
    }
}
