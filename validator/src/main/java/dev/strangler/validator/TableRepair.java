package dev.strangler.validator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.ColumnSchema;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.PostgresCatalog;
import dev.strangler.connectors.PostgresNames;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.ChangeEvent;
import dev.strangler.core.Json;
import dev.strangler.core.SourcePosition;
import dev.strangler.core.TableMapping;
import dev.strangler.core.config.TableRoute;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Repairs drifted keys through the normal apply path: each key's row is read again from the monolith,
 * mapped like any change (renames, dropped columns, the filter), and written to the service's apply
 * topic with the monolith's current WAL position as its version; a key the monolith does not have (or
 * the filter excludes) becomes a delete. The writer applies these like other rows: a change of the same
 * row that commits later carries a higher version and wins, one already on its way is older and loses,
 * so a repair never undoes a live change.
 */
public final class TableRepair {

    /** What the repair does for one drifted key: the record it writes, or none when nothing needs doing. */
    public record Action(Drift drift, Optional<ApplyRecord> record) {
        public String describe() {
            return record.map(r -> r.action().name().toLowerCase() + " " + r.table() + " " + r.key()).orElse("nothing for " + drift.key())
                    + " (" + drift.kind().name().toLowerCase() + (drift.columns().isEmpty() ? "" : ": " + String.join(", ", drift.columns())) + ")";
        }
    }

    private final TablePlan plan;
    private final TableRoute route;
    private final Clock clock;

    private final byte[] maskKey;

    public TableRepair(TablePlan plan, TableRoute route, Clock clock) {
        this(plan, route, clock, null);
    }

    /** @param maskKey {@code sync.maskKey}'s bytes, for routes that hash or fake columns; or null */
    public TableRepair(TablePlan plan, TableRoute route, Clock clock, byte[] maskKey) {
        this.maskKey = maskKey;
        this.plan = plan;
        this.route = route;
        this.clock = clock;
    }

    /** Reads the monolith rows of the drifted keys and turns each into the record that repairs it. */
    public List<Action> plan(Connection monolith, List<Drift> drifts) throws SQLException {
        if (dev.strangler.validator.internal.PortableChecksumSql.Engine.of(monolith) != dev.strangler.validator.internal.PortableChecksumSql.Engine.POSTGRES) {
            throw new IllegalStateException("repair re-sends monolith rows at the monolith's current WAL position: built for a PostgreSQL "
                    + "monolith only (a MariaDB monolith's drift is reported, not repaired)");
        }
        TableSchema source = new PostgresCatalog(monolith).table(plan.source()).orElseThrow(() ->
                new IllegalStateException("monolith table " + plan.source() + " does not exist"));
        long version = currentWalPosition(monolith);
        long nowMicros = clock.millis() * 1000;
        TableMapping mapping = new TableMapping(route, maskKey);
        List<Action> actions = new ArrayList<>();
        String sql = "SELECT " + source.columns().stream().map(TableRepair::valueExpression).collect(Collectors.joining(", "))
                + " FROM " + PostgresNames.qualified(plan.source()) + " t WHERE "
                + plan.key().stream().map(k -> "t." + PostgresNames.quote(k.source()) + " = ?::" + k.sourceType()).collect(Collectors.joining(" AND "));
        try (PreparedStatement ps = monolith.prepareStatement(sql)) {
            for (Drift drift : drifts) {
                ObjectNode sourceKey = Json.mapper().createObjectNode();
                ObjectNode targetKey = Json.mapper().createObjectNode();
                int i = 1;
                for (TablePlan.Column k : plan.key()) {
                    String value = drift.key().get(k.target());
                    ps.setString(i++, value);
                    sourceKey.put(k.source(), value);
                    targetKey.put(k.target(), value);
                }
                Optional<ObjectNode> row = Optional.empty();
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        row = Optional.of(row(rs, source));
                    }
                }
                SourcePosition at = new SourcePosition(version, nowMicros, null);
                Optional<ApplyRecord> record = row.isPresent()
                        ? mapping.apply(new ChangeEvent(route.from(), ChangeEvent.Op.UPDATE, sourceKey, null, row.get(), at))
                        : Optional.of(new ApplyRecord(route.to(), ApplyRecord.Action.DELETE, targetKey, null, Set.of(), version, nowMicros, null));
                actions.add(new Action(drift, record));
            }
        }
        return actions;
    }

    /** Writes the repairing records to the service's apply topic and waits until Kafka has them. */
    public static int send(List<Action> actions, KafkaEndpoint kafka, String applyTopic) {
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.clientConfig(Map.of("client.id", "strangler-repair",
                "acks", "all", "enable.idempotence", "true")), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Action action : actions) {
                if (action.record().isPresent()) {
                    ApplyRecord r = action.record().get();
                    producer.send(new ProducerRecord<>(applyTopic, r.kafkaKeyBytes(), r.toBytes()));
                    sent++;
                }
            }
            producer.flush();
        }
        return sent;
    }

    private static long currentWalPosition(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A column's value as the capture carries it: text, base64 for bytea, a JSON array for arrays. */
    private static String valueExpression(ColumnSchema column) {
        String c = "t." + PostgresNames.quote(column.name());
        if (column.binary()) {
            return "encode(" + c + ", 'base64')";
        }
        if (column.array()) {
            return "to_jsonb(" + c + ")::text";
        }
        return c + "::text";
    }

    private static ObjectNode row(ResultSet rs, TableSchema source) throws SQLException {
        ObjectNode row = Json.mapper().createObjectNode();
        int i = 1;
        for (ColumnSchema column : source.columns()) {
            String value = rs.getString(i++);
            if (value == null) {
                row.putNull(column.name());
            } else if (column.array()) {
                try {
                    JsonNode array = Json.mapper().readTree(value);
                    row.set(column.name(), array);
                } catch (IOException e) {
                    throw new SQLException("array column " + column.name() + " did not read as JSON: " + e.getMessage(), e);
                }
            } else {
                row.put(column.name(), value);
            }
        }
        return row;
    }
}
