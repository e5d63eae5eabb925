package dev.strangler.validator;

import dev.strangler.validator.internal.ChecksumSql;
import dev.strangler.validator.internal.PortableChecksumSql;
import dev.strangler.validator.internal.PostgresChecksumSql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One validation pass over one table, inside the two databases (monolith and service): the key range
 * is cut into segments at every {@code segmentRows}-th monolith key (for a large table, at keys of a
 * random sample of its pages, so segments are about that size without reading the table for it); each database computes each
 * segment's row count and sum of 64-bit row hashes (both sides at once); a segment that differs is cut
 * again, 16 ways, until it is small, and then its rows are fetched from both sides and each key is
 * classified as missing, extra or different (with the columns). Keys of any type and composite keys
 * work: boundaries are keys themselves, compared by the database as tuples.
 *
 * <p>Replication is live while this runs, so a row can differ only because its change is still on the
 * way. A drifted key is checked again after {@code recheckAfter}; it is reported only if it still
 * differs and its monolith row did not change in between (a row that keeps changing is checked again,
 * up to three times, and then reported). Keys that match on a recheck are counted as in flight.
 */
public final class TableValidator {

    private static final Logger LOG = LoggerFactory.getLogger(TableValidator.class);
    private static final int SPLIT_WAYS = 16;
    private static final int RECHECKS = 3;
    /** above this many segments' worth of rows (planner estimate), boundaries come from a sample of pages */
    private static final int SAMPLE_ABOVE_SEGMENTS = 20;
    private static final int SAMPLED_KEYS_PER_SEGMENT = 50;

    /** A table this validator cannot compare (it says why); no later pass will either. */
    public static final class NotComparable extends IllegalArgumentException {
        public NotComparable(String message) {
            super(message);
        }
    }

    /** Told how far a pass has come. */
    public interface Progress {
        Progress NONE = (checked, estimate) -> {
        };

        void rowsChecked(long checked, long estimatedTotal);
    }

    private final int segmentRows;
    private final int leafRows;
    private final Duration recheckAfter;
    private final int sampleSize;
    private final Clock clock;
    private final java.util.function.Consumer<Drift> driftListener;

    /**
     * @param segmentRows  rows per first-level segment (monolith side)
     * @param leafRows     a differing segment with at most this many rows on each side is fetched row by row
     * @param recheckAfter how long to wait before checking a drifted key again
     * @param sampleSize   most drifted keys kept in a report
     */
    public TableValidator(int segmentRows, int leafRows, Duration recheckAfter, int sampleSize, Clock clock) {
        this(segmentRows, leafRows, recheckAfter, sampleSize, clock, drift -> {
        });
    }

    private TableValidator(int segmentRows, int leafRows, Duration recheckAfter, int sampleSize, Clock clock,
                           java.util.function.Consumer<Drift> driftListener) {
        this.segmentRows = segmentRows;
        this.leafRows = leafRows;
        this.recheckAfter = recheckAfter;
        this.sampleSize = sampleSize;
        this.clock = clock;
        this.driftListener = driftListener;
    }

    /** The same validator, telling {@code listener} of every drifted key it confirms (not only the sample). */
    public TableValidator withDriftListener(java.util.function.Consumer<Drift> listener) {
        return new TableValidator(segmentRows, leafRows, recheckAfter, sampleSize, clock, listener);
    }

    /** A range of keys: after {@code lower} (exclusive), up to {@code upper} (inclusive); null is open. */
    private record Range(List<String> lower, List<String> upper) {
    }

    /** Count and hash sum of a range on one side. */
    private record Checksum(long rows, String hashSum) {
    }

    /** One side of the comparison. */
    private record Side(Connection connection, ChecksumSql sql) {
    }

    /**
     * Compares the table and returns the report. The connections should be set up by
     * {@link ValidatorConnections} (UTC, ISO dates) and are used from two threads, one each.
     */
    public TableReport validate(TablePlan plan, Connection monolith, Connection service, Progress progress) throws SQLException {
        return validate(plan, monolith, service, progress, Checkpoint.start(clock.instant()), 0, checkpoint -> {
        });
    }

    /**
     * As {@link #validate(TablePlan, Connection, Connection, Progress)}, resumable: starts after
     * {@code from}, and every {@code checkpointEvery} segments (0: never) confirms the drift found so far
     * (the recheck wait) and hands a {@link Checkpoint} to {@code onCheckpoint}, which a later pass can
     * resume from.
     */
    public TableReport validate(TablePlan plan, Connection monolith, Connection service, Progress progress, Checkpoint from,
                                int checkpointEvery, java.util.function.Consumer<Checkpoint> onCheckpoint) throws SQLException {
        PortableChecksumSql.Engine sourceEngine = PortableChecksumSql.Engine.of(monolith);
        PortableChecksumSql.Engine targetEngine = PortableChecksumSql.Engine.of(service);
        Side source;
        Side target;
        if (sourceEngine == PortableChecksumSql.Engine.POSTGRES && targetEngine == PortableChecksumSql.Engine.POSTGRES) {
            source = new Side(monolith, new PostgresChecksumSql(plan.source(), plan.key().stream().map(TablePlan.Column::source).toList(),
                    plan.key().stream().map(TablePlan.Column::sourceType).toList(),
                    plan.columns().stream().map(TablePlan.Column::sourceSql).toList(), plan.columns().stream().map(TablePlan.Column::sourceType).toList(),
                    plan.filter()));
            target = new Side(service, new PostgresChecksumSql(plan.target(), plan.key().stream().map(TablePlan.Column::target).toList(),
                    plan.key().stream().map(TablePlan.Column::targetType).toList(),
                    plan.columns().stream().map(TablePlan.Column::target).toList(), plan.columns().stream().map(TablePlan.Column::targetType).toList(),
                    java.util.Optional.empty()));
        } else {
            // different engines: both sides render values alike; transforms and filters are PostgreSQL SQL, not pushed down
            if (plan.filter().isPresent() || plan.columns().stream().anyMatch(c -> !c.sourceSql().equals(c.source()))) {
                throw new NotComparable(plan.name() + ": not validated: a route with a filter or transforms is validated only "
                        + "between PostgreSQL databases (its SQL is pushed into the monolith's query)");
            }
            source = new Side(monolith, new PortableChecksumSql(sourceEngine, plan.source(), plan.key().stream().map(TablePlan.Column::source).toList(),
                    plan.key().stream().map(TablePlan.Column::sourceType).toList(), plan.columns().stream().map(TablePlan.Column::source).toList(),
                    plan.columns().stream().map(TablePlan.Column::sourceType).toList()));
            target = new Side(service, new PortableChecksumSql(targetEngine, plan.target(), plan.key().stream().map(TablePlan.Column::target).toList(),
                    plan.key().stream().map(TablePlan.Column::targetType).toList(), plan.columns().stream().map(TablePlan.Column::target).toList(),
                    plan.columns().stream().map(TablePlan.Column::targetType).toList()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "validator-" + plan.name());
            t.setDaemon(true);
            return t;
        });
        try {
            long estimate = estimate(source, plan);
            Range rest = new Range(from.after(), null);
            List<List<String>> bounds = estimate > SAMPLE_ABOVE_SEGMENTS * (long) segmentRows && source.sql().samplesPages()
                    ? sampledBoundaries(source, estimate, rest) : boundaries(source, rest, segmentRows);
            List<Range> segments = cut(rest, bounds);
            // progress counts this run's rows: a resumed pass has the rest of the table to do
            Pass pass = new Pass(pool, source, target, progress, Math.max(0, estimate - from.sourceRows()), plan, from);
            int sinceCheckpoint = 0;
            for (int i = 0; i < segments.size(); i++) {
                Range segment = segments.get(i);
                pass.compare(segment, 0);
                pass.segments++;
                if (checkpointEvery > 0 && ++sinceCheckpoint >= checkpointEvery && i < segments.size() - 1) {
                    pass.confirm();
                    onCheckpoint.accept(pass.checkpoint(segment.upper()));
                    sinceCheckpoint = 0;
                }
            }
            pass.confirm();
            Instant finished = clock.instant();
            return new TableReport(plan.service(), plan.target().toString(), plan.source().toString(), pass.sourceRows, pass.targetRows,
                    pass.segments, pass.split, pass.missing, pass.extra, pass.different, pass.inFlight, pass.sample,
                    Duration.between(from.startedAt(), finished), finished);
        } finally {
            pool.shutdownNow();
        }
    }

    private static long estimate(Side side, TablePlan plan) throws SQLException {
        return side.sql().estimate(side.connection(), plan.source());
    }

    /** Every n-th key of a range on one side. */
    private static List<List<String>> boundaries(Side side, Range range, long every) throws SQLException {
        List<List<String>> bounds = new ArrayList<>();
        try (PreparedStatement ps = side.connection().prepareStatement(side.sql().boundaries(range.lower() != null, range.upper() != null))) {
            int i = bindRange(ps, range, 1);
            ps.setLong(i, Math.max(1, every));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    bounds.add(key(rs, side.sql().keys().size()));
                }
            }
        }
        return bounds;
    }

    /**
     * Boundaries for segments of about {@code segmentRows} rows from the keys of a random sample of pages:
     * every {@value #SAMPLED_KEYS_PER_SEGMENT}-th sampled key, the sample sized to hold that many keys per segment.
     */
    private List<List<String>> sampledBoundaries(Side side, long estimate, Range range) throws SQLException {
        long segments = Math.max(1, estimate / segmentRows);
        double percent = Math.min(100.0, 100.0 * segments * SAMPLED_KEYS_PER_SEGMENT / estimate);
        List<List<String>> sample = new ArrayList<>();
        try (PreparedStatement ps = side.connection().prepareStatement(side.sql().sampledKeys(range.lower() != null))) {
            ps.setDouble(1, percent);
            bindRange(ps, range, 2);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sample.add(key(rs, side.sql().keys().size()));
                }
            }
        }
        long every = Math.max(1, sample.size() / segments);
        List<List<String>> bounds = new ArrayList<>();
        for (int i = (int) every - 1; i < sample.size(); i += (int) every) {
            if (bounds.isEmpty() || !bounds.get(bounds.size() - 1).equals(sample.get(i))) {
                bounds.add(sample.get(i));
            }
        }
        return bounds;
    }

    /** The first {@code columns} columns of the current row: a key, as text. */
    private static List<String> key(ResultSet rs, int columns) throws SQLException {
        List<String> key = new ArrayList<>(columns);
        for (int k = 1; k <= columns; k++) {
            key.add(rs.getString(k));
        }
        return key;
    }

    /** The sub-ranges of {@code range} cut at the given keys (which lie inside it, in order). */
    private static List<Range> cut(Range range, List<List<String>> bounds) {
        List<Range> out = new ArrayList<>();
        List<String> lower = range.lower();
        for (List<String> bound : bounds) {
            if (Objects.equals(bound, range.upper())) {
                continue;
            }
            out.add(new Range(lower, bound));
            lower = bound;
        }
        out.add(new Range(lower, range.upper()));
        return out;
    }

    private static int bindRange(PreparedStatement ps, Range range, int index) throws SQLException {
        int i = index;
        for (List<String> bound : new List[]{range.lower(), range.upper()}) {
            if (bound != null) {
                for (String value : bound) {
                    ps.setString(i++, value);
                }
            }
        }
        return i;
    }

    private static Checksum checksum(Side side, Range range) throws SQLException {
        try (PreparedStatement ps = side.connection().prepareStatement(side.sql().checksum(range.lower() != null, range.upper() != null))) {
            bindRange(ps, range, 1);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Checksum(rs.getLong(1), rs.getString(2));
            }
        }
    }

    /** Rows of a range (or of listed keys) on one side: key text → column texts, in key order. */
    private static Map<List<String>, List<String>> rows(Side side, Range range, List<List<String>> keys) throws SQLException {
        String sql = keys == null ? side.sql().rows(range.lower() != null, range.upper() != null) : side.sql().rowsForKeys(keys.size());
        Map<List<String>, List<String>> out = new LinkedHashMap<>();
        try (PreparedStatement ps = side.connection().prepareStatement(sql)) {
            if (keys == null) {
                bindRange(ps, range, 1);
            } else {
                int i = 1;
                for (List<String> key : keys) {
                    for (String value : key) {
                        ps.setString(i++, value);
                    }
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                int keyCount = side.sql().keys().size();
                int columnCount = side.sql().columns().size();
                while (rs.next()) {
                    List<String> key = key(rs, keyCount);
                    List<String> values = new ArrayList<>(columnCount);
                    for (int c = 1; c <= columnCount; c++) {
                        values.add(rs.getString(keyCount + c));
                    }
                    out.put(key, values);
                }
            }
        }
        return out;
    }

    /** The state of one pass: counts, suspects, and the two database threads. */
    private final class Pass {
        private final ExecutorService pool;
        private final Side source;
        private final Side target;
        private final Progress progress;
        private final long estimate;
        private final TablePlan plan;
        /** keys that differed, with the monolith row as first seen (null when missing there) */
        private final Map<List<String>, List<String>> suspects = new LinkedHashMap<>();
        long sourceRows;
        long targetRows;
        long checked;
        int segments;
        int split;
        long inFlight;
        long missing;
        long extra;
        long different;
        final List<Drift> sample = new ArrayList<>();
        private final Instant startedAt;

        Pass(ExecutorService pool, Side source, Side target, Progress progress, long estimate, TablePlan plan, Checkpoint from) {
            this.pool = pool;
            this.source = source;
            this.target = target;
            this.progress = progress;
            this.estimate = estimate;
            this.plan = plan;
            this.startedAt = from.startedAt();
            sourceRows = from.sourceRows();
            targetRows = from.targetRows();
            segments = from.segments();
            split = from.segmentsSplit();
            inFlight = from.inFlight();
            missing = from.missing();
            extra = from.extra();
            different = from.different();
            sample.addAll(from.sample());
        }

        /** Rechecks the keys that differed so far and adds the confirmed ones to the counts. */
        void confirm() throws SQLException {
            Map<String, Drift> confirmed = recheck();
            suspects.clear();
            for (Drift drift : confirmed.values()) {
                driftListener.accept(drift);
                switch (drift.kind()) {
                    case MISSING -> missing++;
                    case EXTRA -> extra++;
                    case DIFFERENT -> different++;
                }
                if (sample.size() < sampleSize) {
                    sample.add(drift);
                }
            }
        }

        Checkpoint checkpoint(List<String> after) {
            return new Checkpoint(after, startedAt, sourceRows, targetRows, segments, split, missing, extra, different, inFlight, sample);
        }

        void compare(Range range, int depth) throws SQLException {
            Future<Checksum> theirs = pool.submit(() -> checksum(target, range));
            Checksum ours = checksum(source, range);
            Checksum service = await(theirs);
            LOG.debug("{} depth {} range {}: monolith {}, service {}", plan.name(), depth, range, ours, service);
            if (depth == 0) {
                sourceRows += ours.rows();
                targetRows += service.rows();
                checked += Math.max(ours.rows(), service.rows());
                progress.rowsChecked(checked, Math.max(estimate, checked));
            }
            if (ours.equals(service)) {
                return;
            }
            if (depth == 0) {
                split++;
            }
            if (Math.max(ours.rows(), service.rows()) <= leafRows) {
                classify(range);
                return;
            }
            // cut where the side with more rows has its keys: each piece holds few rows on both sides
            Side denser = ours.rows() >= service.rows() ? source : target;
            long every = Math.max(1, Math.max(ours.rows(), service.rows()) / SPLIT_WAYS);
            List<List<String>> bounds = boundaries(denser, range, every);
            List<Range> pieces = cut(range, bounds);
            if (pieces.size() < 2) {
                classify(range);
                return;
            }
            for (Range piece : pieces) {
                compare(piece, depth + 1);
            }
        }

        private void classify(Range range) throws SQLException {
            Future<Map<List<String>, List<String>>> theirs = pool.submit(() -> rows(target, range, null));
            Map<List<String>, List<String>> ours = rows(source, range, null);
            Map<List<String>, List<String>> service = await(theirs);
            for (Map.Entry<List<String>, List<String>> row : ours.entrySet()) {
                if (!row.getValue().equals(service.get(row.getKey()))) {
                    suspects.put(row.getKey(), row.getValue());
                }
            }
            for (List<String> key : service.keySet()) {
                if (!ours.containsKey(key)) {
                    suspects.put(key, null);
                }
            }
        }

        /** Checks the suspects again once replication had time to catch up; returns the confirmed drift. */
        Map<String, Drift> recheck() throws SQLException {
            Map<String, Drift> confirmed = new LinkedHashMap<>();
            long inFlightBefore = inFlight;
            Map<List<String>, List<String>> pending = new LinkedHashMap<>(suspects);
            for (int round = 1; round <= RECHECKS && !pending.isEmpty(); round++) {
                sleep(recheckAfter);
                Map<List<String>, List<String>> stillChanging = new LinkedHashMap<>();
                List<List<String>> keys = new ArrayList<>(pending.keySet());
                for (int from = 0; from < keys.size(); from += 500) {
                    List<List<String>> chunk = keys.subList(from, Math.min(keys.size(), from + 500));
                    Future<Map<List<String>, List<String>>> theirs = pool.submit(() -> rows(target, null, chunk));
                    Map<List<String>, List<String>> ours = rows(source, null, chunk);
                    Map<List<String>, List<String>> service = await(theirs);
                    for (List<String> key : chunk) {
                        List<String> now = ours.get(key);
                        List<String> there = service.get(key);
                        if (Objects.equals(now, there)) {
                            inFlight++;
                        } else if (!Objects.equals(now, pending.get(key)) && round < RECHECKS) {
                            stillChanging.put(key, now);
                        } else {
                            Drift drift = drift(key, now, there);
                            confirmed.put(String.join("|", key), drift);
                        }
                    }
                }
                pending = stillChanging;
            }
            if (inFlight > inFlightBefore) {
                LOG.info("{}: {} keys differed at first and matched when checked again (changes in flight)", plan.name(), inFlight - inFlightBefore);
            }
            return confirmed;
        }

        private Drift drift(List<String> key, List<String> ours, List<String> theirs) {
            Map<String, String> named = new LinkedHashMap<>();
            for (int i = 0; i < key.size(); i++) {
                named.put(plan.key().get(i).target(), key.get(i));
            }
            if (ours == null) {
                return new Drift(Drift.Kind.EXTRA, named, List.of());
            }
            if (theirs == null) {
                return new Drift(Drift.Kind.MISSING, named, List.of());
            }
            List<String> columns = new ArrayList<>();
            for (int i = 0; i < ours.size(); i++) {
                if (!Objects.equals(ours.get(i), theirs.get(i))) {
                    columns.add(plan.columns().get(i).target());
                }
            }
            return new Drift(Drift.Kind.DIFFERENT, named, columns);
        }
    }

    private static <T> T await(Future<T> future) throws SQLException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("validation interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static void sleep(Duration d) throws SQLException {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("validation interrupted", e);
        }
    }
}
