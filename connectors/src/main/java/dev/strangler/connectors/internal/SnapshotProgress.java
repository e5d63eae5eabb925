package dev.strangler.connectors.internal;

import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The initial copy's progress as metrics: Debezium's snapshot MBean
 * ({@code debezium.postgres:type=connector-metrics,context=snapshot,server=<topic prefix>}) read when
 * scraped — rows scanned per table, tables left, running — next to each table's size estimate from
 * {@code pg_class.reltuples} taken at start, so rows/s and an ETA can be derived (the dashboard does).
 * Debezium updates a table's count every 10,000 rows and when the table is done.
 */
public final class SnapshotProgress {

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final String domain;
    private final String serverName;

    private SnapshotProgress(String domain, String serverName) {
        this.domain = domain;
        this.serverName = serverName;
    }

    /** Registers the snapshot gauges of one PostgreSQL capture; {@code estimates} may be read from the monolith with {@link #estimates}. */
    public static void register(MeterRegistry metrics, String debeziumTopicPrefix, Map<TableId, Long> estimates) {
        register(metrics, "debezium.postgres", debeziumTopicPrefix, estimates);
    }

    /**
     * Registers the snapshot gauges of one capture whose connector's MBeans are in {@code domain}
     * ({@code debezium.postgres}, {@code debezium.mariadb}, {@code debezium.mysql}).
     */
    public static void register(MeterRegistry metrics, String domain, String debeziumTopicPrefix, Map<TableId, Long> estimates) {
        SnapshotProgress p = new SnapshotProgress(domain, debeziumTopicPrefix);
        // suppliers hold the progress object strongly (a gauge's state object is only weakly held)
        Gauge.builder(MetricNames.SNAPSHOT_RUNNING, () -> p.attribute("SnapshotRunning") instanceof Boolean b && b ? 1 : 0)
                .description("1 while the initial copy runs").register(metrics);
        Gauge.builder(MetricNames.SNAPSHOT_TABLES_REMAINING, () -> p.attribute("RemainingTableCount") instanceof Number n ? n.doubleValue() : 0)
                .description("tables the initial copy has not finished").register(metrics);
        estimates.forEach((table, rows) -> {
            Gauge.builder(MetricNames.SNAPSHOT_ROWS_SCANNED, () -> p.scanned(table)).tag(MetricNames.TAG_TABLE, table.toString())
                    .description("rows the initial copy has read from the table").register(metrics);
            Gauge.builder(MetricNames.SNAPSHOT_ROWS_ESTIMATED, () -> rows).tag(MetricNames.TAG_TABLE, table.toString())
                    .description("the table's row count as PostgreSQL estimated it at start (pg_class.reltuples)").register(metrics);
        });
    }

    /**
     * The same gauges for {@code capture.snapshot: copy}, from the copy's state: running while any copy runs,
     * service tables left, rows copied per monolith table (summed over its routes) against its estimate times
     * its routes.
     *
     * @param copies every copying writer's state, read when scraped
     * @param routes how many service tables each monolith table is copied into
     */
    public static void registerCopy(MeterRegistry metrics, java.util.function.Supplier<List<CopyCounts>> copies, Map<TableId, Long> estimates,
                                    Map<TableId, Integer> routes) {
        Gauge.builder(MetricNames.SNAPSHOT_RUNNING, () -> copies.get().stream().anyMatch(CopyCounts::running) ? 1 : 0)
                .description("1 while the initial copy runs").register(metrics);
        Gauge.builder(MetricNames.SNAPSHOT_TABLES_REMAINING, () -> copies.get().stream().mapToInt(CopyCounts::tablesLeft).sum())
                .description("tables the initial copy has not finished").register(metrics);
        estimates.forEach((table, rows) -> {
            Gauge.builder(MetricNames.SNAPSHOT_ROWS_SCANNED, () -> copies.get().stream().mapToLong(c -> c.rowsCopied().getOrDefault(table, 0L)).sum())
                    .tag(MetricNames.TAG_TABLE, table.toString()).description("rows the initial copy has read from the table").register(metrics);
            Gauge.builder(MetricNames.SNAPSHOT_ROWS_ESTIMATED, () -> rows * routes.getOrDefault(table, 1)).tag(MetricNames.TAG_TABLE, table.toString())
                    .description("the table's row count as PostgreSQL estimated it at start (pg_class.reltuples), times the service tables it is copied into")
                    .register(metrics);
        });
    }

    /** One writer's copy, as the gauges read it. */
    public record CopyCounts(boolean running, int tablesLeft, Map<TableId, Long> rowsCopied) {
    }

    /** Row estimates of MariaDB or MySQL tables ({@code information_schema.tables.table_rows}, InnoDB's estimate). */
    public static Map<TableId, Long> binlogEstimates(Connection c, Collection<TableId> tables) throws SQLException {
        Map<TableId, Long> out = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(table_rows, 0) FROM information_schema.tables "
                + "WHERE table_schema = ? AND table_name = ?")) {
            for (TableId table : tables) {
                ps.setString(1, table.schema());
                ps.setString(2, table.table());
                try (ResultSet rs = ps.executeQuery()) {
                    out.put(table, rs.next() ? rs.getLong(1) : 0L);
                }
            }
        }
        return out;
    }

    /** Row estimates of the tables (0 for a table never analyzed). */
    public static Map<TableId, Long> estimates(Connection c, Collection<TableId> tables) throws SQLException {
        Map<TableId, Long> out = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(?)")) {
            for (TableId table : tables) {
                ps.setString(1, PostgresNamesForProgress.qualified(table));
                try (ResultSet rs = ps.executeQuery()) {
                    out.put(table, rs.next() ? rs.getLong(1) : 0L);
                }
            }
        }
        return out;
    }

    private Object attribute(String name) {
        try {
            Set<ObjectName> names = server.queryNames(new ObjectName(domain + ":type=connector-metrics,context=snapshot,server="
                    + ObjectName.quote(serverName) + ",*"), null);
            if (names.isEmpty()) {
                names = server.queryNames(new ObjectName("debezium.*:type=connector-metrics,context=snapshot,*"), null).stream()
                        .filter(n -> serverName.equals(n.getKeyProperty("server"))).collect(java.util.stream.Collectors.toSet());
            }
            return names.isEmpty() ? null : server.getAttribute(names.iterator().next(), name);
        } catch (Exception e) {
            return null;
        }
    }

    private double scanned(TableId table) {
        Object rows = attribute("RowsScanned");
        if (rows instanceof TabularData data) {
            for (Object row : data.values()) {
                CompositeData entry = (CompositeData) row;
                String key = String.valueOf(entry.get("key"));
                if (key.equals(table.toString()) || key.endsWith("." + table)) {
                    return ((Number) entry.get("value")).doubleValue();
                }
            }
        } else if (rows instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String key = String.valueOf(e.getKey());
                if (key.equals(table.toString()) || key.endsWith("." + table)) {
                    return ((Number) e.getValue()).doubleValue();
                }
            }
        }
        return 0;
    }

    /** Quoting for to_regclass. */
    private static final class PostgresNamesForProgress {
        static String qualified(TableId t) {
            return dev.strangler.connectors.PostgresNames.qualified(t);
        }
    }
}
