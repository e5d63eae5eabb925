package dev.strangler.syncengine.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.ConflictRule;
import dev.strangler.core.Json;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.TableRoute;
import dev.strangler.syncengine.RuleBook;
import dev.strangler.syncengine.SyncPlan;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Conflict detection and resolution for two-way tables. Every row a sequencer emits toward a two-way
 * pair passes here, and so does every echo it drops (both origins' sequencers share one task and the
 * store "conflicts").
 *
 * <p>The store remembers, per row (monolith table and key, monolith column names), the last change seen
 * from either origin (or the last decision): its commit time, the row after it, the row before it (the
 * last agreed row), the sides that have not yet applied it, and the last version seen from each origin.
 * A side has applied it when the echo of the writer's transaction comes back from that side's capture
 * with the same row: its sequencer emits in commit order, so a change from that side that arrives later
 * was made on top of it.
 *
 * <p>A change from a side that had <em>not</em> yet applied the row's last change, and committed within
 * {@code sync.conflictWindow} of it, is a conflict: two origins changed the row without seeing each other.
 * The table's rule decides the row both databases keep; it goes to <em>both</em> targets as a forced write
 * (the change that arrived first may already have overwritten the other in its target), and the
 * decision is written to {@code <prefix>.conflicts} and counted. Every other change goes on as it came.
 * Past the window a change is taken as made after the last one (for when an echo cannot be matched).
 */
public final class ConflictResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ConflictResolver.class);
    static final String MONOLITH = "monolith";
    static final String SERVICE = "service";
    static final String DECIDED = "decided";
    /** how long past the window an entry is kept: sequencer delays must stay below it for a conflict to be seen */
    private static final long KEEP_PAST_WINDOW_MS = Duration.ofMinutes(10).toMillis();

    /** A row for a target, emitted in a transaction of its own after the one being emitted. */
    public record Correction(String target, ApplyRecord record) {
    }

    /** What happens to one row: go on as it came, or not, plus corrections and the audit record. */
    public record Outcome(boolean forward, List<Correction> corrections, byte[] auditKey, byte[] audit) {
        static final Outcome FORWARD = new Outcome(true, List.of(), null, null);
    }

    /** A two-way table seen from one target. */
    private record Pair(String service, TableRoute route, String side) {
    }

    private final Map<String, Map<TableId, Pair>> byTarget = new HashMap<>();
    private final RuleBook rules;
    private final long windowMicros;
    private final MeterRegistry metrics;
    private final Map<String, Counter> counters = new HashMap<>();
    private KeyValueStore<String, byte[]> store;

    public ConflictResolver(SyncPlan plan, RuleBook rules, Duration window, MeterRegistry metrics) {
        this.rules = rules;
        this.windowMicros = window.toNanos() / 1000;
        this.metrics = metrics;
        plan.twoWay().forEach((service, routes) -> {
            for (TableRoute route : routes) {
                byTarget.computeIfAbsent(service, s -> new HashMap<>()).put(route.to(), new Pair(service, route, MONOLITH));
                byTarget.computeIfAbsent(TopicNames.monolithTarget(service), s -> new HashMap<>()).put(route.from(), new Pair(service, route, SERVICE));
            }
        });
    }

    void init(KeyValueStore<String, byte[]> store) {
        this.store = store;
    }

    /** Whether rows for this target may be two-way rows (and must be decoded and passed here). */
    boolean watches(String target) {
        return byTarget.containsKey(target);
    }

    Outcome onRow(String target, ApplyRecord row, long nowMs) {
        Pair pair = byTarget.getOrDefault(target, Map.of()).get(row.table());
        if (pair == null) {
            return Outcome.FORWARD;
        }
        TableRoute route = pair.route();
        boolean fromMonolith = pair.side().equals(MONOLITH);
        ObjectNode key = fromMonolith ? toMonolith(route, row.key()) : row.key();
        String storeKey = pair.service() + "|" + route.from() + "|" + key;
        State previous = State.read(store.get(storeKey));
        ObjectNode image = null;
        if (row.action() == ApplyRecord.Action.UPSERT) {
            image = fromMonolith ? toMonolith(route, row.row()) : row.row().deepCopy();
            for (String unchanged : row.unchanged()) {
                String column = fromMonolith ? route.sourceColumn(unchanged) : unchanged;
                JsonNode known = previous == null || previous.image == null ? null : previous.image.get(column);
                if (known != null) {
                    image.set(column, known);
                } else {
                    image.remove(column);
                }
            }
        }
        State next = new State();
        next.monolithVersion = previous == null ? 0 : previous.monolithVersion;
        next.serviceVersion = previous == null ? 0 : previous.serviceVersion;
        if (fromMonolith) {
            next.monolithVersion = Math.max(next.monolithVersion, row.version());
        } else {
            next.serviceVersion = Math.max(next.serviceVersion, row.version());
        }
        next.origin = pair.side();
        next.storedAtMs = nowMs;
        boolean conflict = previous != null && previous.pending.contains(pair.side())
                && Math.abs(row.sourceCommitMicros() - previous.commitMicros) <= windowMicros;
        if (!conflict) {
            next.commitMicros = row.sourceCommitMicros();
            next.image = image;
            next.agreed = previous == null ? null : previous.image;
            next.agreedKnown = previous != null;
            next.pending = new java.util.TreeSet<>(List.of(other(pair.side())));
            store.put(storeKey, next.toBytes());
            return Outcome.FORWARD;
        }
        // the row's last change (or last decision) counts as the other side's
        ConflictDecider.Change mine = new ConflictDecider.Change(image, row.sourceCommitMicros());
        ConflictDecider.Change theirs = new ConflictDecider.Change(previous.image, previous.commitMicros);
        ConflictDecider.Change monolith = fromMonolith ? mine : theirs;
        ConflictDecider.Change service = fromMonolith ? theirs : mine;
        ObjectNode agreed = previous.agreedKnown ? previous.agreed : null;
        ConflictRule rule = rules.ruleFor(route.from());
        ConflictDecider.Decision decision = ConflictDecider.decide(rule, rules.customFor(route.from()), route.from(), key,
                monolith, service, agreed);
        next.commitMicros = Math.max(row.sourceCommitMicros(), previous.commitMicros);
        next.image = decision.row();
        // the agreed row stays the one before the conflict: a third change in the window merges against it too
        next.agreed = previous.agreed;
        next.agreedKnown = previous.agreedKnown;
        next.origin = DECIDED;
        next.pending = new java.util.TreeSet<>(List.of(MONOLITH, SERVICE));
        store.put(storeKey, next.toBytes());
        counter(route.from(), rule, decision.winner()).increment();
        if (decision.note() != null) {
            LOG.warn("conflict on {} key {}: {}", route.from(), key, decision.note());
        }
        List<Correction> corrections = List.of(
                new Correction(pair.service(), forService(route, key, decision.row(), next.monolithVersion, next.commitMicros)),
                new Correction(TopicNames.monolithTarget(pair.service()), forMonolith(route, key, decision.row(), next.serviceVersion, next.commitMicros)));
        byte[] auditKey = (route.from() + "|" + key).getBytes(StandardCharsets.UTF_8);
        return new Outcome(false, corrections, auditKey, audit(route.from(), key, rule, decision, monolith, service, agreed, nowMs));
    }

    private static String other(String side) {
        return side.equals(MONOLITH) ? SERVICE : MONOLITH;
    }

    /**
     * A row of the writer's own transaction, back from the capture of the database it was written to (the
     * sequencer drops it): that side has now applied the row's last change, if it is the same row.
     */
    void onEcho(String target, ApplyRecord row) {
        Pair pair = byTarget.getOrDefault(target, Map.of()).get(row.table());
        if (pair == null) {
            return;
        }
        TableRoute route = pair.route();
        // the echo travels toward the side it came from: it was applied on the other one
        boolean appliedAtMonolith = pair.side().equals(MONOLITH);
        ObjectNode key = appliedAtMonolith ? toMonolith(route, row.key()) : row.key();
        String storeKey = pair.service() + "|" + route.from() + "|" + key;
        State state = State.read(store.get(storeKey));
        if (state == null) {
            return;
        }
        String side = appliedAtMonolith ? MONOLITH : SERVICE;
        if (!state.pending.contains(side)) {
            return;
        }
        ObjectNode image = row.action() == ApplyRecord.Action.DELETE ? null
                : appliedAtMonolith ? toMonolith(route, row.row()) : row.row();
        if (java.util.Objects.equals(image, state.image)) {
            state.pending.remove(side);
            store.put(storeKey, state.toBytes());
        }
    }

    private Counter counter(TableId table, ConflictRule rule, ConflictDecider.Winner winner) {
        String id = table + "|" + rule.strategy() + "|" + winner;
        return counters.computeIfAbsent(id, k -> Counter.builder(MetricNames.CONFLICTS).tag(MetricNames.TAG_TABLE, table.toString())
                .tag(MetricNames.TAG_STRATEGY, rule.strategy().configName()).tag(MetricNames.TAG_WINNER, winner.label())
                .description("conflicts decided").register(metrics));
    }

    private static ApplyRecord forService(TableRoute route, ObjectNode key, ObjectNode row, long version, long commitMicros) {
        ObjectNode targetKey = toService(route, key);
        if (row == null) {
            return new ApplyRecord(route.to(), ApplyRecord.Action.DELETE, targetKey, null, null, version, commitMicros, null).asForced();
        }
        return new ApplyRecord(route.to(), ApplyRecord.Action.UPSERT, targetKey, toService(route, row), null, version, commitMicros, null).asForced();
    }

    private static ApplyRecord forMonolith(TableRoute route, ObjectNode key, ObjectNode row, long version, long commitMicros) {
        if (row == null) {
            return new ApplyRecord(route.from(), ApplyRecord.Action.DELETE, key, null, null, version, commitMicros, null).asForced();
        }
        return new ApplyRecord(route.from(), ApplyRecord.Action.UPSERT, key, row, null, version, commitMicros, null).asForced();
    }

    private static ObjectNode toMonolith(TableRoute route, ObjectNode serviceRow) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        serviceRow.fields().forEachRemaining(e -> out.set(route.sourceColumn(e.getKey()), e.getValue()));
        return out;
    }

    private static ObjectNode toService(TableRoute route, ObjectNode monolithRow) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        monolithRow.fields().forEachRemaining(e -> route.targetColumn(e.getKey()).ifPresent(c -> out.set(c, e.getValue())));
        return out;
    }

    private byte[] audit(TableId table, ObjectNode key, ConflictRule rule, ConflictDecider.Decision decision,
                         ConflictDecider.Change monolith, ConflictDecider.Change service, ObjectNode agreed, long nowMs) {
        ObjectNode a = Json.mapper().createObjectNode();
        a.put("table", table.toString());
        a.set("key", key);
        a.put("strategy", rule.strategy().configName());
        a.put("rule", rules.ruleKeyFor(table));
        a.put("winner", decision.winner().label());
        ObjectNode m = a.putObject("monolith");
        m.set("row", monolith.image());
        m.put("commitMicros", monolith.commitMicros());
        ObjectNode s = a.putObject("service");
        s.set("row", service.image());
        s.put("commitMicros", service.commitMicros());
        a.set("agreed", agreed);
        a.set("result", decision.row());
        if (decision.note() != null) {
            a.put("note", decision.note());
        }
        a.put("decidedAt", Instant.ofEpochMilli(nowMs).toString());
        try {
            return Json.mapper().writeValueAsBytes(a);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Forgets rows last changed longer ago than the window (and a margin): they can no longer conflict. Reads
     * only each entry's fixed-place timestamp, so a pass over a large store costs little.
     */
    void purge(long nowMs) {
        long before = nowMs - windowMicros / 1000 - KEEP_PAST_WINDOW_MS;
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, byte[]> e = all.next();
                if (e.value != null && State.storedAt(e.value) < before) {
                    old.add(e.key);
                }
            }
        }
        old.forEach(store::delete);
    }

    /**
     * What the store keeps per row, in a binary form: format byte, stored-at (ms), commit time (µs), last
     * monolith and service versions, origin, pending sides, then the row after the last change and the
     * agreed row as JSON (length-prefixed; -1: null, -2: unknown).
     */
    private static final class State {
        private static final byte FORMAT = 1;
        private static final int NULL = -1;
        private static final int UNKNOWN = -2;

        String origin;
        long commitMicros;
        ObjectNode image;
        ObjectNode agreed;
        boolean agreedKnown;
        long monolithVersion;
        long serviceVersion;
        long storedAtMs;
        /** sides that have not yet applied {@code image} */
        java.util.SortedSet<String> pending = new java.util.TreeSet<>();

        static long storedAt(byte[] bytes) {
            return java.nio.ByteBuffer.wrap(bytes, 1, 8).getLong();
        }

        static State read(byte[] bytes) {
            if (bytes == null) {
                return null;
            }
            try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
                if (in.readByte() != FORMAT) {
                    throw new IllegalStateException("conflict store entry format " + bytes[0] + " is not " + FORMAT);
                }
                State s = new State();
                s.storedAtMs = in.readLong();
                s.commitMicros = in.readLong();
                s.monolithVersion = in.readLong();
                s.serviceVersion = in.readLong();
                s.origin = in.readUTF();
                int pending = in.readByte();
                if ((pending & 1) != 0) {
                    s.pending.add(MONOLITH);
                }
                if ((pending & 2) != 0) {
                    s.pending.add(SERVICE);
                }
                s.image = readRow(in);
                int agreedLength = in.readInt();
                s.agreedKnown = agreedLength != UNKNOWN;
                s.agreed = agreedLength >= 0 ? (ObjectNode) Json.mapper().readTree(in.readNBytes(agreedLength)) : null;
                return s;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static ObjectNode readRow(java.io.DataInputStream in) throws IOException {
            int length = in.readInt();
            return length < 0 ? null : (ObjectNode) Json.mapper().readTree(in.readNBytes(length));
        }

        byte[] toBytes() {
            try {
                java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(256);
                java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
                out.writeByte(FORMAT);
                out.writeLong(storedAtMs);
                out.writeLong(commitMicros);
                out.writeLong(monolithVersion);
                out.writeLong(serviceVersion);
                out.writeUTF(origin);
                out.writeByte((pending.contains(MONOLITH) ? 1 : 0) | (pending.contains(SERVICE) ? 2 : 0));
                writeRow(out, image, NULL);
                writeRow(out, agreed, agreedKnown ? NULL : UNKNOWN);
                out.flush();
                return bytes.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void writeRow(java.io.DataOutputStream out, ObjectNode row, int absent) throws IOException {
            if (row == null) {
                out.writeInt(absent);
                return;
            }
            byte[] json = Json.mapper().writeValueAsBytes(row);
            out.writeInt(json.length);
            out.write(json);
        }
    }
}
