package dev.strangler.connectors;

import dev.strangler.connectors.internal.JdbcUrls;
import dev.strangler.connectors.internal.PostgresDialect;
import dev.strangler.connectors.internal.SnapshotProgress;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.CaptureSettings;
import dev.strangler.core.config.DatabaseSettings;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Captures a PostgreSQL database with Debezium's PostgreSQL connector (pgoutput): a replication slot and a
 * publication of the captured tables; on the monolith also the signalling table
 * ({@code public.strangler_signal}) for incremental snapshots.
 *
 * <p>At-least-once by construction: a batch's source offsets are marked processed only after Kafka has
 * acknowledged every record of it, and the offsets live in Kafka ({@code <prefix>.capture-offsets.<origin>}),
 * so a restart resumes at the last acknowledged batch. Records a crash makes it send twice are dropped
 * downstream by version (the sync engine remembers each key's last version).
 */
public final class PostgresCapture extends DebeziumCapture {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresCapture.class);

    /**
     * Tables the capture reads but whose rows it does not publish (as Debezium names them in a transaction's
     * {@code data_collections}): the signalling table, where Debezium also marks an incremental snapshot's
     * chunk windows. A transaction of only these carries nothing to apply.
     */
    public static final Set<String> UNPUBLISHED_TABLES = Set.of(PostgresDialect.SIGNAL_TABLE_ID.toString());

    /**
     * Whether a table (as Debezium names it in {@code data_collections}) is one a capture reads but does not
     * publish: the signalling table, {@code public.strangler_signal} in PostgreSQL, {@code <database>.strangler_signal}
     * in a MariaDB or MySQL monolith.
     */
    public static boolean unpublished(String dataCollection) {
        return UNPUBLISHED_TABLES.contains(dataCollection) || dataCollection.endsWith("." + PostgresDialect.SIGNAL_TABLE);
    }

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
        super(origin, database, settings, tables, keyColumns, transactionMetadata, kafka, topics, metrics, clock,
                topics.cdc(origin, PostgresDialect.SIGNAL_TABLE_ID));
    }

    @Override
    protected void beforeEngineStart() {
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            try (java.sql.Connection c = StartupChecks.connect(database); java.sql.Statement s = c.createStatement()) {
                s.execute(PostgresDialect.createSignalTable());
            } catch (java.sql.SQLException e) {
                state.fail(e.getMessage());
                throw new IllegalStateException("cannot create the signalling table public.strangler_signal in the monolith ("
                        + database.url() + "): " + e.getMessage() + "; grant CREATE on schema public, or create it: "
                        + PostgresDialect.createSignalTable(), e);
            }
        }
        alignPublication();
        if (settings.snapshot() == CaptureSettings.SnapshotMode.COPY) {
            // the writers copy the rows (as soon as the slot is there) and register the copy's gauges
            createPublicationAndSlot();
            return;
        }
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            SnapshotProgress.register(metrics, topics.cdcPrefix(origin), SnapshotProgress.estimates(c, tables));
        } catch (java.sql.SQLException e) {
            LOG.warn("capture {}: no row estimates for the initial copy's progress: {}", origin, e.getMessage());
        }
    }

    @Override
    protected void onTaskStarted() {
        if (settings.snapshot() == CaptureSettings.SnapshotMode.INCREMENTAL && origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            requestInitialCopy();
        }
    }

    @Override
    protected void connectorProperties(Properties p) {
        JdbcUrls url = JdbcUrls.parsePostgres(database.url());
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("database.hostname", url.host());
        p.setProperty("database.port", String.valueOf(url.port()));
        p.setProperty("database.dbname", url.database());
        p.setProperty("database.user", database.user());
        p.setProperty("database.password", database.password().reveal());
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", settings.slotName());
        p.setProperty("publication.name", settings.publicationName());
        p.setProperty("publication.autocreate.mode", "filtered");
        // a partitioned table's changes arrive as the table itself, not as its partitions
        p.setProperty("publish.via.partition.root", "true");
        // the signalling table is captured too (Debezium reads its execute-snapshot rows from the stream); its
        // events are not published
        Set<TableId> included = includedTables();
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            p.setProperty("signal.enabled.channels", "source");
            p.setProperty("signal.data.collection", PostgresDialect.SIGNAL_TABLE_ID.toString());
            p.setProperty("incremental.snapshot.chunk.size", "1024");
        }
        p.setProperty("table.include.list", included.stream().map(t -> "^" + t.schema() + "\\." + t.table() + "$")
                .collect(Collectors.joining(",")));
        // INCREMENTAL: no blocking snapshot; the copy is requested through the signalling table once streaming runs
        p.setProperty("snapshot.mode", settings.snapshot() == CaptureSettings.SnapshotMode.INITIAL ? "initial" : "no_data");
        p.setProperty("interval.handling.mode", "string");
        p.setProperty("hstore.handling.mode", "json");
    }

    /** The tables this capture reads: the configured ones, and on the monolith the signalling table. */
    private java.util.Set<TableId> includedTables() {
        java.util.Set<TableId> included = new java.util.LinkedHashSet<>(tables);
        if (origin.equals(TopicNames.MONOLITH_ORIGIN)) {
            included.add(PostgresDialect.SIGNAL_TABLE_ID);
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
     * For {@code capture.snapshot: copy}: the publication and the replication slot made here, as Debezium would make
     * them, before its engine starts (which takes the better part of a second): the writers' copy may begin once
     * the slot is consistent, and Debezium streams from the slot's start. Where this fails (no right to create
     * them), Debezium tries and says why.
     */
    private void createPublicationAndSlot() {
        try (java.sql.Connection c = StartupChecks.connect(database)) {
            c.setAutoCommit(true);
            boolean publication;
            try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_publication WHERE pubname = ?")) {
                ps.setString(1, settings.publicationName());
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    publication = rs.getLong(1) > 0;
                }
            }
            if (!publication) {
                try (java.sql.Statement s = c.createStatement()) {
                    s.execute("CREATE PUBLICATION " + PostgresNames.quote(settings.publicationName()) + " FOR TABLE "
                            + includedTables().stream().map(PostgresNames::qualified).collect(Collectors.joining(", "))
                            + " WITH (publish_via_partition_root = true)");
                }
                LOG.info("capture {}: created publication {}", origin, settings.publicationName());
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT pg_create_logical_replication_slot(?, 'pgoutput') "
                    + "WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)")) {
                ps.setString(1, settings.slotName());
                ps.setString(2, settings.slotName());
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        LOG.info("capture {}: created replication slot {}", origin, settings.slotName());
                    }
                }
            }
        } catch (java.sql.SQLException e) {
            LOG.warn("capture {}: could not create publication {} and slot {} ahead of Debezium: {}; Debezium will try", origin,
                    settings.publicationName(), settings.slotName(), e.getMessage());
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
                s.execute(PostgresDialect.createSignalTable());
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement(PostgresDialect.insertSnapshotSignal())) {
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
             java.sql.PreparedStatement ps = c.prepareStatement(PostgresDialect.insertSnapshotSignal()
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

}
