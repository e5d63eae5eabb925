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
 * pair passes here (both origins' sequencers share one task and the store "conflicts").
 *
 * <p>Every row sent to a two-way target gets the next number of that target's sequence
 * ({@link ApplyRecord#seq()}). The writer into a captured database records in its origin marker the highest
 * number it has applied; the marker travels with the writer's transaction through that database's capture,
 * and its sequencer, which emits in commit order, reports it here ({@link #onApplied}) before any change
 * committed after it. So when a change from one side arrives, the engine knows exactly which rows sent to
 * that side had been applied there when the change was made.
 *
 * <p>The store remembers, per row (monolith table and key, monolith column names), the last change or
 * decision, the row before it (the last agreed row), and the number of the last row sent to each side. A
 * change from a side that had not yet applied the last row sent to it is a <em>conflict</em>: the two sides
 * changed the row without seeing each other. The table's rule decides the row both databases keep; it goes
 * to both targets as a forced write (the change that arrived first may already have overwritten the other
 * in its target), after the transaction that caused it, and the decision is written to
 * {@code <prefix>.conflicts} and counted. Every other change goes on as it came. No clock is compared to
 * detect a conflict (last-writer-wins compares commit times to decide one).
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

    /** What happens to one row: the row to send on (numbered; null: none), corrections, and the audit record. */
    public record Outcome(ApplyRecord forward, List<Correction> corrections, byte[] auditKey, byte[] audit) {
        static Outcome forward(ApplyRecord row) {
            return new Outcome(row, List.of(), null, null);
        }
    }

    /** A two-way table seen from one target. */
    private record Pair(String service, TableRoute route, String side) {
    }

    private final Map<String, Map<TableId, Pair>> byTarget = new HashMap<>();
    private final RuleBook rules;
    private final long windowMicros;
    private final MeterRegistry metrics;
    private final Map<String, Counter> counters = new HashMap<>();
    /** store keys of the counters; row keys start with a service name, which cannot start with '~' */
    private static final String SEQ_PREFIX = "~seq|";
    private static final String THROUGH_PREFIX = "~through|";
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
        if (pair == null || row.action() == ApplyRecord.Action.TRUNCATE) {
            // a truncate concerns every row: it goes on as it came (docs/two-way.md, limits)
            return Outcome.forward(row);
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
        next.sentToMonolith = previous == null ? 0 : previous.sentToMonolith;
        next.sentToService = previous == null ? 0 : previous.sentToService;
        String ownTarget = fromMonolith ? TopicNames.monolithTarget(pair.service()) : pair.service();
        // the change's own side had not applied the last row sent to it: it was made without seeing that row
        boolean conflict = previous != null && previous.sentTo(pair.side()) > appliedThrough(ownTarget);
        if (!conflict) {
            next.commitMicros = row.sourceCommitMicros();
            next.image = image;
            next.agreed = previous == null ? null : previous.image;
            next.agreedKnown = previous != null;
            long seq = nextSeq(target);
            if (fromMonolith) {
                next.sentToService = seq;
            } else {
                next.sentToMonolith = seq;
            }
            store.put(storeKey, next.toBytes());
            return Outcome.forward(row.withSeq(seq));
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
        String serviceTarget = pair.service();
        String monolithTarget = TopicNames.monolithTarget(pair.service());
        next.sentToService = nextSeq(serviceTarget);
        next.sentToMonolith = nextSeq(monolithTarget);
        store.put(storeKey, next.toBytes());
        counter(route.from(), rule, decision.winner()).increment();
        if (decision.note() != null) {
            LOG.warn("conflict on {} key {}: {}", route.from(), key, decision.note());
        }
        List<Correction> corrections = List.of(
                new Correction(serviceTarget, forService(route, key, decision.row(), next.monolithVersion, next.commitMicros).withSeq(next.sentToService)),
                new Correction(monolithTarget, forMonolith(route, key, decision.row(), next.serviceVersion, next.commitMicros).withSeq(next.sentToMonolith)));
        byte[] auditKey = (route.from() + "|" + key).getBytes(StandardCharsets.UTF_8);
        return new Outcome(null, corrections, auditKey, audit(route.from(), key, rule, decision, monolith, service, agreed, nowMs));
    }

    /**
     * The next number of a target's row sequence. Kept in the store only (both origins' sequencers, each with
     * its own resolver, number rows for the same targets), so it also survives restarts.
     */
    private long nextSeq(String target) {
        long next = counterValue(SEQ_PREFIX + target) + 1;
        store.put(SEQ_PREFIX + target, java.nio.ByteBuffer.allocate(8).putLong(next).array());
        return next;
    }

    /** The highest row number the writer of a target has applied, as its last origin marker said. */
    private long appliedThrough(String target) {
        return counterValue(THROUGH_PREFIX + target);
    }

    /**
     * A writer transaction came back from the capture of the database it wrote: the writer of {@code target}
     * had applied every row up to {@code through} when it committed.
     */
    void onApplied(String target, long through) {
        if (!watches(target) || through <= appliedThrough(target)) {
            return;
        }
        store.put(THROUGH_PREFIX + target, java.nio.ByteBuffer.allocate(8).putLong(through).array());
    }

    private long counterValue(String key) {
        byte[] stored = store.get(key);
        return stored == null ? 0 : java.nio.ByteBuffer.wrap(stored).getLong();
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
     * Forgets rows that both sides have applied and that nothing changed for longer than the window (and a
     * margin): a later change of them cannot conflict, only its merge base is lost. Reads only each entry's
     * fixed-place fields, so a pass over a large store costs little.
     */
    void purge(long nowMs) {
        long before = nowMs - windowMicros / 1000 - KEEP_PAST_WINDOW_MS;
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, byte[]> e = all.next();
                if (e.value == null || e.key.startsWith("~") || State.storedAt(e.value) >= before) {
                    continue;
                }
                String service = e.key.substring(0, e.key.indexOf('|'));
                if (State.sentToService(e.value) <= appliedThrough(service)
                        && State.sentToMonolith(e.value) <= appliedThrough(TopicNames.monolithTarget(service))) {
                    old.add(e.key);
                }
            }
        }
        old.forEach(store::delete);
    }

    /**
     * What the store keeps per row, in a binary form: format byte, stored-at (ms), commit time (µs), last
     * monolith and service versions, numbers of the last rows sent to the monolith and to the service (at
     * fixed places: offsets 1, 9, 17, 25, 33, 41), origin, then the row after the last change and the agreed
     * row as JSON (length-prefixed; -1: null, -2: unknown).
     */
    private static final class State {
        private static final byte FORMAT = 2;
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
        /** the number of the last row sent to each side for this row (0: none) */
        long sentToMonolith;
        long sentToService;

        long sentTo(String side) {
            return side.equals(MONOLITH) ? sentToMonolith : sentToService;
        }

        static long storedAt(byte[] bytes) {
            return java.nio.ByteBuffer.wrap(bytes, 1, 8).getLong();
        }

        static long sentToMonolith(byte[] bytes) {
            return java.nio.ByteBuffer.wrap(bytes, 33, 8).getLong();
        }

        static long sentToService(byte[] bytes) {
            return java.nio.ByteBuffer.wrap(bytes, 41, 8).getLong();
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
                s.sentToMonolith = in.readLong();
                s.sentToService = in.readLong();
                s.origin = in.readUTF();
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
                out.writeLong(sentToMonolith);
                out.writeLong(sentToService);
                out.writeUTF(origin);
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
