package dev.strangler.connectors;

import dev.strangler.connectors.internal.JdbcUrls;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.CaptureSettings;
import dev.strangler.core.config.DatabaseSettings;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Captures a MariaDB or MySQL monolith from its binary log ({@code binlog_format=ROW},
 * {@code binlog_row_image=FULL}): MariaDB with Debezium's MariaDB connector (the MySQL connector against MariaDB
 * skipped the first row of a transaction after a restart, tried here), MySQL with Debezium's MySQL connector
 * (GTIDs on: a change's version comes from its transaction's GTID). A table is {@code database.table}; its
 * topic {@code <prefix>.cdc.<origin>.<database>.<table>}. The connector keeps the captured tables' DDL history
 * on {@code <prefix>.capture-schema-history.<origin>} (one partition, kept forever).
 */
public final class BinlogCapture extends DebeziumCapture {

    static {
        // the binlog client logs each connection through java.util.logging, at INFO, to standard error
        java.util.logging.Logger.getLogger("com.github.shyiko.mysql.binlog").setLevel(java.util.logging.Level.WARNING);
    }

    public BinlogCapture(String origin, DatabaseSettings database, CaptureSettings settings, Set<TableId> tables,
                          Map<TableId, List<String>> keyColumns, boolean transactionMetadata, KafkaEndpoint kafka, TopicNames topics,
                          MeterRegistry metrics, Clock clock) {
        // transaction metadata always: a change's place in its transaction is part of its version (DebeziumEnvelope)
        super(origin, database, settings, tables, keyColumns, true, kafka, topics, metrics, clock,
                topics.cdc(origin, signalTable(tables)));
    }

    /**
     * The signalling table: {@code strangler_signal} in the first (by name) database of the captured tables, where
     * {@code strangler snapshot} and the initial incremental copy write Debezium's execute-snapshot signals.
     */
    public static TableId signalTable(java.util.Collection<TableId> tables) {
        String database = tables.stream().map(TableId::schema).sorted().findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no captured table"));
        return new TableId(database, dev.strangler.connectors.internal.PostgresDialect.SIGNAL_TABLE);
    }

    private static String createSignalTable(TableId table) {
        return "CREATE TABLE IF NOT EXISTS `" + table.schema() + "`.`" + table.table()
                + "` (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))";
    }

    /**
     * Asks the capture of a MariaDB or MySQL monolith to copy the existing rows of {@code tables} again, in chunks,
     * while changes keep streaming (a Debezium incremental snapshot through the signalling table).
     *
     * @return the signal's id
     */
    public static String requestSnapshot(DatabaseSettings database, java.util.List<TableId> tables, java.util.Set<TableId> captured)
            throws java.sql.SQLException {
        String id = java.util.UUID.randomUUID().toString();
        insertSignal(database, signalTable(captured), id, tables, false);
        return id;
    }

    private static boolean insertSignal(DatabaseSettings database, TableId signal, String id, java.util.Collection<TableId> tables,
                                        boolean once) throws java.sql.SQLException {
        String data = "{\"data-collections\": [" + tables.stream().map(t -> "\"" + t + "\"").sorted().collect(Collectors.joining(", "))
                + "], \"type\": \"incremental\"}";
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            try (java.sql.Statement st = c.createStatement()) {
                st.execute(createSignalTable(signal));
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT " + (once ? "IGNORE " : "") + "INTO `" + signal.schema() + "`.`"
                    + signal.table() + "` (id, type, data) VALUES (?, 'execute-snapshot', ?)")) {
                ps.setString(1, id);
                ps.setString(2, data);
                return ps.executeUpdate() == 1;
            }
        }
    }

    /** Deletes the initial copy's signal ({@code strangler reset}), so that a fresh start copies again. */
    public static void forgetInitialCopy(DatabaseSettings database, java.util.Set<TableId> captured, CaptureSettings settings)
            throws java.sql.SQLException {
        TableId signal = signalTable(captured);
        try (java.sql.Connection c = StartupChecks.connect(database);
             java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM `" + signal.schema() + "`.`" + signal.table() + "` WHERE id = ?")) {
            ps.setString(1, PostgresCapture.initialCopySignalId(settings));
            ps.executeUpdate();
        } catch (java.sql.SQLException e) {
            // 42S02: no signalling table, nothing to forget
            if (!"42S02".equals(e.getSQLState())) {
                throw e;
            }
        }
    }

    /** The topic of the connector's schema history. */
    public static String schemaHistoryTopic(TopicNames topics, String origin) {
        return topics.prefix() + ".capture-schema-history." + origin;
    }

    @Override
    protected void beforeEngineStart() {
        TableId signal = signalTable(tables);
        try (java.sql.Connection c = StartupChecks.connect(database); java.sql.Statement st = c.createStatement()) {
            st.execute(createSignalTable(signal));
        } catch (java.sql.SQLException e) {
            state.fail(e.getMessage());
            throw new IllegalStateException("cannot create the signalling table " + signal + " in the monolith (" + database.url() + "): "
                    + e.getMessage() + "; grant CREATE on database " + signal.schema() + ", or create it: " + createSignalTable(signal), e);
        }
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            dev.strangler.connectors.internal.SnapshotProgress.register(metrics, database.type() == dev.strangler.core.config.DatabaseType.MYSQL
                            ? "debezium.mysql" : "debezium.mariadb", topics.cdcPrefix(origin),
                    dev.strangler.connectors.internal.SnapshotProgress.binlogEstimates(c, tables));
        } catch (java.sql.SQLException e) {
            org.slf4j.LoggerFactory.getLogger(BinlogCapture.class).warn("capture {}: no row estimates for the initial copy's progress: {}",
                    origin, e.getMessage());
        }
    }

    @Override
    protected void onTaskStarted() {
        if (settings.snapshot() != CaptureSettings.SnapshotMode.INCREMENTAL) {
            return;
        }
        // the signal must come after the position the binlog is read from, which the connector settles only after its
        // schema snapshot: written once its binlog reader is connected
        Thread requester = new Thread(this::requestInitialCopyWhenStreaming, "strangler-initial-copy-" + origin);
        requester.setDaemon(true);
        requester.start();
    }

    private void requestInitialCopyWhenStreaming() {
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BinlogCapture.class);
        String domain = database.type() == dev.strangler.core.config.DatabaseType.MYSQL ? "debezium.mysql" : "debezium.mariadb";
        javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        long deadline = System.nanoTime() + java.time.Duration.ofMinutes(10).toNanos();
        try {
            javax.management.ObjectName name = new javax.management.ObjectName(domain + ":type=connector-metrics,context=streaming,server="
                    + javax.management.ObjectName.quote(topics.cdcPrefix(origin)));
            javax.management.ObjectName unquoted = new javax.management.ObjectName(domain + ":type=connector-metrics,context=streaming,server="
                    + topics.cdcPrefix(origin));
            while (state.get().healthy() && System.nanoTime() < deadline) {
                if (connected(server, name) || connected(server, unquoted)) {
                    if (insertSignal(database, signalTable(tables), PostgresCapture.initialCopySignalId(settings), tables, true)) {
                        log.info("capture {}: initial copy of {} tables requested (incremental, in chunks of 1,024 rows while changes stream)",
                                origin, tables.size());
                    }
                    return;
                }
                Thread.sleep(100);
            }
            if (state.get().healthy()) {
                state.fail("the binlog reader did not connect within 10 minutes: the initial copy was not requested");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (javax.management.MalformedObjectNameException | java.sql.SQLException e) {
            state.fail("cannot request the initial copy: " + e.getMessage());
            log.error("capture {}: cannot write the initial copy's signal into {} ({}): {}", origin, signalTable(tables), database.url(),
                    e.getMessage());
        }
    }

    private static boolean connected(javax.management.MBeanServer server, javax.management.ObjectName name) {
        try {
            return Boolean.TRUE.equals(server.getAttribute(name, "Connected"));
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    protected void connectorProperties(Properties p) {
        JdbcUrls url = JdbcUrls.parseMariaDb(database.url());
        p.setProperty("connector.class", database.type() == dev.strangler.core.config.DatabaseType.MYSQL
                ? "io.debezium.connector.mysql.MySqlConnector" : "io.debezium.connector.mariadb.MariaDbConnector");
        p.setProperty("database.hostname", url.host());
        p.setProperty("database.port", String.valueOf(url.port()));
        p.setProperty("database.user", database.user());
        p.setProperty("database.password", database.password().reveal());
        // a replica id of its own, the same across restarts of this capture (derived from the slot name)
        p.setProperty("database.server.id", String.valueOf(10_000 + Math.floorMod(settings.slotName().hashCode(), 1_000_000)));
        // the signalling table is captured too (Debezium reads its execute-snapshot rows from the binlog); its events are not published
        TableId signal = signalTable(tables);
        java.util.Set<TableId> included = new java.util.LinkedHashSet<>(tables);
        included.add(signal);
        p.setProperty("database.include.list", included.stream().map(TableId::schema).distinct()
                .map(d -> "^" + java.util.regex.Pattern.quote(d) + "$").collect(Collectors.joining(",")));
        p.setProperty("table.include.list", included.stream().map(t -> "^" + t.schema() + "\\." + t.table() + "$")
                .collect(Collectors.joining(",")));
        p.setProperty("signal.enabled.channels", "source");
        p.setProperty("signal.data.collection", signal.toString());
        p.setProperty("incremental.snapshot.chunk.size", "1024");
        p.setProperty("snapshot.mode", settings.snapshot() == CaptureSettings.SnapshotMode.INITIAL ? "initial" : "no_data");
        p.setProperty("include.schema.changes", "false");
        p.setProperty("schema.history.internal", "io.debezium.storage.kafka.history.KafkaSchemaHistory");
        p.setProperty("schema.history.internal.kafka.topic", schemaHistoryTopic(topics, origin));
        p.setProperty("schema.history.internal.kafka.bootstrap.servers", kafka.bootstrapServers());
        p.setProperty("schema.history.internal.store.only.captured.tables.ddl", "true");
        kafka.clientConfig().forEach((k, v) -> {
            if (!k.equals("bootstrap.servers")) {
                p.setProperty("schema.history.internal.producer." + k, String.valueOf(v));
                p.setProperty("schema.history.internal.consumer." + k, String.valueOf(v));
            }
        });
    }
}
