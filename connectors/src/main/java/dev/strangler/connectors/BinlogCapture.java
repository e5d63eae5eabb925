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
        super(origin, database, settings, tables, keyColumns, true, kafka, topics, metrics, clock, null);
    }

    /** The topic of the connector's schema history. */
    public static String schemaHistoryTopic(TopicNames topics, String origin) {
        return topics.prefix() + ".capture-schema-history." + origin;
    }

    @Override
    protected void beforeEngineStart() {
        if (settings.snapshot() == CaptureSettings.SnapshotMode.INCREMENTAL) {
            throw new IllegalStateException("capture.snapshot: incremental is not supported for a " + database.type().configName()
                    + " monolith yet; use initial or never");
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
        p.setProperty("database.include.list", tables.stream().map(TableId::schema).distinct()
                .map(d -> "^" + java.util.regex.Pattern.quote(d) + "$").collect(Collectors.joining(",")));
        p.setProperty("table.include.list", tables.stream().map(t -> "^" + t.schema() + "\\." + t.table() + "$")
                .collect(Collectors.joining(",")));
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
