package dev.strangler.syncengine;

import dev.strangler.connectors.OriginMarkers;
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
 * What the sync engine does, as data: per capture origin (the monolith, and each service with two-way
 * tables), the captured tables, the targets that receive each and the mapping each applies. Built from
 * the config; the topology is a pure function of it.
 *
 * <p>Targets are named like services: a service name for its database, and {@code monolith.<service>}
 * ({@link TopicNames#monolithTarget}) for the monolith receiving a two-way service's changes.
 */
public final class SyncPlan {

    /** One target's mapping of one source table. */
    public record Destination(String service, TableMapping mapping) {
    }

    /** One capture origin and where its tables go. */
    public static final class Origin {
        private final String name;
        private final Map<TableId, List<Destination>> bySource;
        private final boolean capturesMarker;

        Origin(String name, Map<TableId, List<Destination>> bySource, boolean capturesMarker) {
            this.name = name;
            this.bySource = Map.copyOf(bySource);
            this.capturesMarker = capturesMarker;
        }

        public String name() {
            return name;
        }

        public boolean monolith() {
            return name.equals(TopicNames.MONOLITH_ORIGIN);
        }

        public List<Destination> destinations(TableId source) {
            return bySource.getOrDefault(source, List.of());
        }

        /** Tables this origin's capture reads, marker table included when a writer writes into its database. */
        public Set<TableId> capturedTables() {
            Set<TableId> tables = new LinkedHashSet<>(bySource.keySet().stream().sorted().toList());
            if (capturesMarker) {
                tables.add(OriginMarkers.TABLE);
            }
            return tables;
        }

        /** Whether a writer writes into this origin's database, so its changes may carry origin markers. */
        public boolean capturesMarker() {
            return capturesMarker;
        }

        /**
         * The target whose rows are echoes in a transaction marked with {@code markerOrigin}: the target that
         * writes into that origin's database.
         */
        public String echoTarget(String markerOrigin) {
            return monolith() ? markerOrigin : TopicNames.monolithTarget(name);
        }

        /**
         * The target whose writer wrote a transaction marked with {@code markerOrigin} into this origin's
         * database: the service's writer for a service origin, {@code monolith.<service>} for the monolith.
         */
        public String writerTarget(String markerOrigin) {
            return monolith() ? TopicNames.monolithTarget(markerOrigin) : name;
        }

        public boolean usesTransactions() {
            return bySource.values().stream().flatMap(List::stream)
                    .anyMatch(d -> d.mapping().route().consistency() == TableRoute.Consistency.TRANSACTION);
        }

        public Set<String> targets() {
            Set<String> targets = new LinkedHashSet<>();
            bySource.values().forEach(list -> list.forEach(d -> targets.add(d.service())));
            return targets;
        }
    }

    private final TopicNames topics;
    private final List<Origin> origins;
    private final Set<String> services;
    private final Map<String, List<TableRoute>> twoWay;

    SyncPlan(TopicNames topics, List<Origin> origins, Set<String> services, Map<String, List<TableRoute>> twoWay) {
        this.topics = topics;
        this.origins = List.copyOf(origins);
        this.services = Set.copyOf(services);
        this.twoWay = Map.copyOf(twoWay);
    }

    /** The plan of a config: the monolith to every service, and every two-way service back to the monolith. */
    public static SyncPlan fromConfig(StranglerConfig config) {
        Map<TableId, List<Destination>> fromMonolith = new LinkedHashMap<>();
        Set<String> targets = new LinkedHashSet<>();
        Map<String, List<TableRoute>> twoWay = new LinkedHashMap<>();
        List<Origin> origins = new ArrayList<>();
        for (ServiceSettings service : config.serviceList()) {
            targets.add(service.name());
            for (TableRoute route : service.tables()) {
                fromMonolith.computeIfAbsent(route.from(), t -> new ArrayList<>()).add(new Destination(service.name(),
                        new TableMapping(route, config.sync().maskKeyBytes())));
                if (route.twoWay()) {
                    twoWay.computeIfAbsent(service.name(), s -> new ArrayList<>()).add(route);
                }
            }
        }
        origins.add(new Origin(TopicNames.MONOLITH_ORIGIN, fromMonolith, !twoWay.isEmpty()));
        twoWay.forEach((service, routes) -> {
            String target = TopicNames.monolithTarget(service);
            targets.add(target);
            Map<TableId, List<Destination>> back = new LinkedHashMap<>();
            for (TableRoute route : routes) {
                back.put(route.to(), List.of(new Destination(target, new TableMapping(route.inverse()))));
            }
            origins.add(new Origin(service, back, true));
        });
        return new SyncPlan(config.topics(), origins, targets, twoWay);
    }

    public TopicNames topics() {
        return topics;
    }

    /** The monolith first, then each two-way service. */
    public List<Origin> origins() {
        return origins;
    }

    public Origin monolith() {
        return origins.get(0);
    }

    /** The monolith's cdc topics. */
    public List<String> sourceTopics() {
        return sourceTopics(monolith());
    }

    public List<String> sourceTopics(Origin origin) {
        return origin.capturedTables().stream().map(t -> topics.cdc(origin.name(), t)).toList();
    }

    /** Where a monolith table goes. */
    public List<Destination> destinations(TableId source) {
        return monolith().destinations(source);
    }

    /** Every apply target: each service, and {@code monolith.<service>} per two-way service. */
    public Set<String> services() {
        return services;
    }

    /** Two-way routes per service (monolith table → service table). */
    public Map<String, List<TableRoute>> twoWay() {
        return twoWay;
    }

    public String origin() {
        return monolith().name();
    }

    /** Whether some table is applied with transaction consistency, which needs the sequencer. */
    public boolean usesTransactions() {
        return origins.stream().anyMatch(Origin::usesTransactions);
    }
}
