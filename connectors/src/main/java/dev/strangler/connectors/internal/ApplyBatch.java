package dev.strangler.connectors.internal;

import dev.strangler.core.ApplyRecord;
import dev.strangler.core.TableId;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows of one writer transaction. Changes of one key collapse to the newest version (it alone
 * decides the row's final state, except for the TOAST values it did not send: those an older change of the
 * key in the batch carried are kept). Groups come out in a safe order: deletes first, child tables before
 * parents (a primary-key change is a delete of the old key and an insert of the new one, which may
 * carry the same unique values), then upserts, parent tables before children; "parent" is an earlier
 * position in {@code tableOrder}.
 */
public final class ApplyBatch {

    /** The kind of statement a group runs. */
    public enum Kind {
        /** insert or update whole rows */
        UPSERT,
        /** update rows whose unchanged (TOAST) columns must keep their target value */
        UPDATE,
        DELETE,
        /** delete every row of the table (the source table was truncated) */
        TRUNCATE
    }

    /** One surviving change and the Kafka record it came from. */
    public record Row(ApplyRecord record, ConsumerRecord<byte[], byte[]> source) {
    }

    /** Rows of one table that run as one batched statement; {@code forced}: conflict decisions (no version guard). */
    public record Group(TableId table, Kind kind, List<String> columns, List<Row> rows, boolean forced) {
    }

    private final Map<TableId, Integer> tableOrder;
    private final Map<String, Row> latestByKey = new LinkedHashMap<>();
    /** the last truncate of each table in the batch; rows of the table before it were dropped */
    private final Map<TableId, Row> truncates = new LinkedHashMap<>();
    private final Map<TableId, List<Long>> sourceMicros = new HashMap<>();
    private int size;

    public ApplyBatch(Map<TableId, Integer> tableOrder) {
        this.tableOrder = tableOrder;
    }

    public void add(ApplyRecord record, ConsumerRecord<byte[], byte[]> source) {
        size++;
        sourceMicros.computeIfAbsent(record.table(), t -> new ArrayList<>()).add(record.sourceCommitMicros());
        if (record.action() == ApplyRecord.Action.TRUNCATE) {
            // the table's earlier rows in this batch would be deleted by it: they are not written at all
            latestByKey.values().removeIf(r -> r.record().table().equals(record.table()));
            truncates.put(record.table(), new Row(record, source));
            return;
        }
        String key = record.kafkaKey();
        Row existing = latestByKey.get(key);
        // a conflict decision comes after the changes it overrides: it replaces them whatever their version
        if (existing == null || record.forced() || existing.record().version() <= record.version()) {
            // an update that left a TOAST value alone keeps the value an older change of the key in this batch brought
            latestByKey.put(key, new Row(existing == null || record.forced() ? record : record.over(existing.record()), source));
        }
    }

    /** Puts a row in place of the surviving change of its key (the writer laid it over a parked change). */
    public void replace(Row row) {
        latestByKey.replace(row.record().kafkaKey(), row);
    }

    /** Tables this batch truncates. */
    public java.util.Set<TableId> truncated() {
        return truncates.keySet();
    }

    /** The surviving change of each key. */
    public java.util.Collection<Row> rows() {
        return latestByKey.values();
    }

    /** Changes in the batch, before collapsing keys. */
    public int size() {
        return size;
    }

    public List<Group> groups() {
        Map<String, Group> upserts = new LinkedHashMap<>();
        Map<String, Group> deletes = new LinkedHashMap<>();
        Group previous = null;
        for (Row row : latestByKey.values()) {
            ApplyRecord r = row.record();
            if (r.action() == ApplyRecord.Action.DELETE) {
                deletes.computeIfAbsent(r.table() + "|" + r.forced(), t -> new Group(r.table(), Kind.DELETE, List.of(), new ArrayList<>(), r.forced()))
                        .rows().add(row);
            } else if (previous != null && previous.table().equals(r.table()) && previous.forced() == r.forced() && sameColumns(previous, r)) {
                // rows of one table nearly always carry the same columns: no list or key to build
                previous.rows().add(row);
            } else {
                List<String> columns = new ArrayList<>();
                r.row().fieldNames().forEachRemaining(c -> {
                    if (!r.unchanged().contains(c)) {
                        columns.add(c);
                    }
                });
                Kind kind = r.unchanged().isEmpty() ? Kind.UPSERT : Kind.UPDATE;
                String groupKey = r.table() + "|" + kind + "|" + r.forced() + "|" + columns;
                previous = upserts.computeIfAbsent(groupKey, k -> new Group(r.table(), kind, List.copyOf(columns), new ArrayList<>(), r.forced()));
                previous.rows().add(row);
            }
        }
        Comparator<Group> parentsFirst = Comparator.comparingInt(g -> tableOrder.getOrDefault(g.table(), Integer.MAX_VALUE));
        List<Group> ordered = new ArrayList<>(deletes.values());
        // truncates run with the deletes, children first (a source TRUNCATE of a parent includes its children)
        truncates.forEach((table, row) -> ordered.add(new Group(table, Kind.TRUNCATE, List.of(), List.of(row), true)));
        ordered.sort(parentsFirst.reversed());
        List<Group> upsertGroups = new ArrayList<>(upserts.values());
        upsertGroups.sort(parentsFirst);
        ordered.addAll(upsertGroups);
        return ordered;
    }

    /** Whether the row would form the same group: same kind, and the same columns in the same order. */
    private static boolean sameColumns(Group group, ApplyRecord r) {
        if ((group.kind() == Kind.UPSERT) != r.unchanged().isEmpty()) {
            return false;
        }
        int i = 0;
        for (Iterator<String> names = r.row().fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (r.unchanged().contains(name)) {
                continue;
            }
            if (i >= group.columns().size() || !group.columns().get(i).equals(name)) {
                return false;
            }
            i++;
        }
        return i == group.columns().size();
    }

    /** Source commit times of every change in the batch, per target table, for latency metrics. */
    public Map<TableId, long[]> sourceCommitMicrosByTable() {
        Map<TableId, long[]> out = new LinkedHashMap<>();
        sourceMicros.forEach((table, list) -> out.put(table, list.stream().mapToLong(Long::longValue).toArray()));
        return out;
    }
}
