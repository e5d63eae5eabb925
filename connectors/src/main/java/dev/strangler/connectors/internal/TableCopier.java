package dev.strangler.connectors.internal;

import dev.strangler.connectors.PostgresNames;
import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.postgresql.copy.PGCopyOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * Copies the existing rows of a service's tables from a PostgreSQL monolith with PostgreSQL's COPY
 * ({@code capture.snapshot: copy}): table by table (parents first), in chunks of key ranges, each chunk read
 * in one repeatable-read snapshot of the monolith and written with its progress row in one service
 * transaction, so a restart resumes after the last chunk that committed.
 *
 * <p>Why rows are never lost or left behind: the capture's replication slot exists before the first chunk
 * is read, so every change committed after a chunk's snapshot is in the stream; while a table is copied
 * the writer parks its changes (newest per key) instead of applying them, and applies them over the copy
 * once the table is done. Copied rows carry version 0, older than any streamed change, so each parked
 * change wins over the copied row, and a parked delete removes a row the copy read before it was deleted.
 *
 * <p>Up to {@code threads} chunks of a table are copied at once, each on connections of its own; they commit in
 * key order (a chunk whose rows are in waits with its transaction open for the one before it), so the progress
 * row's last key always has every row before it copied, as with one chunk at a time.
 *
 * <p>A chunk is COPYed straight into the service table. Where the table already holds rows of the range
 * (a table that was not empty), the chunk goes through a temporary table and an upsert that keeps every
 * row with a version (a row synced before, or one the version guard knows) and fills the rest. A chunk a
 * foreign key rejects (its parent row was deleted since the chunk's snapshot, or a new parent has not
 * been applied yet) is read again, leaving out rows the monolith no longer has, and retried.
 *
 * <p>Into an empty service table the copy goes without the indexes that would be kept up row by row, as
 * pg_restore does: its plain (non-unique) indexes, its primary key when no other table's foreign key needs
 * it, and its foreign keys to itself (a row may point at a row of a later chunk) are dropped before the
 * first chunk, their definitions kept in the progress row (in the same transaction, so a crash cannot lose
 * them), and built again in the last chunk's transaction. A row cannot be copied twice meanwhile: each
 * chunk commits with its progress row, and the primary key built at the end would refuse a double. A
 * foreign key to itself comes back {@code NOT VALID} (enforced for new rows at once) and is validated once
 * the table's parked changes are applied: a row copied early may point at a row deleted before its chunk
 * was read, and the change that mends it is among them.
 */
public final class TableCopier {

    private static final Logger LOG = LoggerFactory.getLogger(TableCopier.class);

    /** The service's table of copy progress: one row per writer and service table. */
    public static final String PROGRESS_TABLE = "strangler_copy";
    private static final String UNIQUE_VIOLATION = "23505";
    private static final String FOREIGN_KEY_VIOLATION = "23503";
    private static final int FOREIGN_KEY_ATTEMPTS = 120;

    /** Opens a connection; the copier owns and closes it. */
    @FunctionalInterface
    public interface Connector {
        Connection open() throws SQLException;
    }

    /** What the copier tells its writer. */
    public interface Listener {
        /** Every row of the table is copied: its parked changes can be applied. */
        void copied(TableId serviceTable);
    }

    /** The copy of one route as the progress table holds it; {@code deferred}: statements that build the dropped indexes again. */
    record Progress(Optional<List<String>> lastKey, long rows, boolean done, List<String> deferred) {
    }

    /** How long the copier tries to validate a foreign key to the table itself after its copy (its parked changes may mend it). */
    private static final java.time.Duration VALIDATE_FOR = java.time.Duration.ofMinutes(10);

    private final String writer;
    private final String slotName;
    private final String publicationName;
    private final int chunkRows;
    private final int threads;
    private final String indexMemory;
    private final Connector monolith;
    private final Connector service;
    private final Listener listener;
    private final BooleanSupplier running;
    private final Map<TableId, AtomicLong> rowsCopied = new ConcurrentHashMap<>();
    private volatile int tablesLeft;

    /**
     * @param threads     chunks of a table copied at once
     * @param indexMemory {@code maintenance_work_mem} for the index builds after a table's last chunk (where larger than the
     *                    server's); empty: the server's
     */
    public TableCopier(String writer, String slotName, String publicationName, int chunkRows, int threads, String indexMemory, Connector monolith,
                       Connector service, Listener listener, BooleanSupplier running) {
        this.writer = writer;
        this.slotName = slotName;
        this.publicationName = publicationName;
        this.chunkRows = chunkRows;
        this.threads = threads;
        this.indexMemory = indexMemory;
        this.monolith = monolith;
        this.service = service;
        this.listener = listener;
        this.running = running;
    }

    /** The progress table (and its {@code deferred} column, added in 0.1 to tables made before). */
    public static List<String> createProgressTable() {
        return List.of("CREATE TABLE IF NOT EXISTS " + PROGRESS_TABLE + " (writer text NOT NULL, target_table text NOT NULL, "
                + "source_table text NOT NULL, last_key text[], rows_copied bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, "
                + "updated_at timestamptz NOT NULL DEFAULT now(), deferred text[], PRIMARY KEY (writer, target_table))",
                "ALTER TABLE " + PROGRESS_TABLE + " ADD COLUMN IF NOT EXISTS deferred text[]");
    }

    /**
     * Builds again what unfinished copies dropped (indexes, primary keys, foreign keys to the table itself),
     * for {@code strangler reset}, which forgets the progress table that keeps their definitions.
     *
     * @param writer only this writer's copies; empty: every writer's
     * @return the service tables mended
     * @throws SQLException naming the statement that failed (nothing is forgotten then)
     */
    public static List<String> buildDeferredBeforeReset(Connection service, Optional<String> writer) throws SQLException {
        List<String> tables = new ArrayList<>();
        List<String> statements = new ArrayList<>();
        try (PreparedStatement ps = service.prepareStatement("SELECT target_table, deferred FROM " + PROGRESS_TABLE
                + " WHERE NOT done AND deferred IS NOT NULL AND (? IS NULL OR writer = ?)")) {
            ps.setString(1, writer.orElse(null));
            ps.setString(2, writer.orElse(null));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                    statements.addAll(List.of((String[]) rs.getArray(2).getArray()));
                }
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState()) || "42703".equals(e.getSQLState())) {
                return List.of(); // no progress table (or one from before deferred indexes): nothing was dropped
            }
            throw e;
        }
        for (String statement : statements) {
            try (Statement st = service.createStatement()) {
                st.execute(statement);
            } catch (SQLException e) {
                throw new SQLException("cannot build again what an unfinished copy dropped: " + statement + ": " + e.getMessage(), e.getSQLState(), e);
            }
        }
        return tables;
    }

    /**
     * Whether the copy of a service table dropped its primary key to build it at the end: the writer then
     * starts without the key in the service table (the table's changes are parked until the copy is done).
     */
    public static boolean primaryKeyDeferred(Connection service, String writer, TableId table) throws SQLException {
        try (PreparedStatement ps = service.prepareStatement("SELECT deferred FROM " + PROGRESS_TABLE + " WHERE writer = ? AND target_table = ? "
                + "AND NOT done AND deferred IS NOT NULL")) {
            ps.setString(1, writer);
            ps.setString(2, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && List.of((String[]) rs.getArray(1).getArray()).stream().anyMatch(TableCopier::buildsPrimaryKey);
            }
        }
    }

    /** Whether a statement {@link #deferIndexes} kept builds the table's primary key again. */
    private static boolean buildsPrimaryKey(String build) {
        return build.startsWith("ALTER TABLE ") && build.contains(" PRIMARY KEY (");
    }

    /** The service tables of a writer whose copy is done. Parameters: writer. */
    public static String doneTables() {
        return "SELECT target_table FROM " + PROGRESS_TABLE + " WHERE writer = ? AND done";
    }

    /** Rows copied so far per monolith table (every route of it summed). */
    public Map<TableId, Long> rowsCopied() {
        Map<TableId, Long> out = new java.util.HashMap<>();
        rowsCopied.forEach((t, n) -> out.put(t, n.get()));
        return out;
    }

    public int tablesLeft() {
        return tablesLeft;
    }

    /** A route to copy, with the monolith table's and the service table's definitions. */
    public record Job(TableRoute route, TableSchema source, TableSchema target) {
    }

    /**
     * Built-in types whose binary COPY form is the same in any database (no type OIDs inside, as arrays and
     * user-defined types have): a table whose carried columns all have one of these, the same on both sides,
     * is copied in binary (less work for both servers than text).
     */
    private static final java.util.regex.Pattern PORTABLE_BINARY = java.util.regex.Pattern.compile(
            "(smallint|integer|bigint|real|double precision|numeric(\\(\\d+(,\\d+)?\\))?|text|character varying(\\(\\d+\\))?"
                    + "|character(\\(\\d+\\))?|boolean|date|timestamp(\\(\\d\\))? with(out)? time zone|time(\\(\\d\\))? without time zone"
                    + "|uuid|bytea|jsonb|json)");

    static boolean binaryCopyable(List<String> sourceColumns, TableSchema source, TableSchema target, TableRoute route) {
        for (String column : sourceColumns) {
            String type = source.column(column).orElseThrow().type();
            java.util.Optional<dev.strangler.connectors.ColumnSchema> other = target.column(route.targetColumn(column).orElseThrow());
            if (other.isEmpty() || !other.get().type().equals(type) || !PORTABLE_BINARY.matcher(type).matches()) {
                return false;
            }
        }
        return target.column(TableRoute.VERSION_COLUMN).map(c -> c.type().equals("bigint")).orElse(false);
    }

    /**
     * Copies the jobs in order; returns when all are done or the copier is stopped.
     *
     * @param validate service tables whose foreign keys to themselves a copy left {@code NOT VALID} (this run's copies,
     *                 or an earlier run's stopped before it validated them) are validated after the copies
     * @throws SQLException when a database fails beyond what a retry mends
     */
    public void run(List<Job> jobs, List<TableId> validate) throws SQLException, InterruptedException {
        tablesLeft = jobs.size();
        jobs.forEach(j -> rowsCopied.computeIfAbsent(j.route().from(), t -> new AtomicLong()));
        if (!jobs.isEmpty()) {
            awaitSlot();
        }
        for (Job job : jobs) {
            if (!running.getAsBoolean()) {
                return;
            }
            awaitPublished(job.route().from());
            if (!running.getAsBoolean()) {
                return;
            }
            copy(job);
            if (!running.getAsBoolean()) {
                return;
            }
            tablesLeft--;
            listener.copied(job.route().to());
        }
        validateForeignKeysToThemselves(validate);
    }

    /**
     * A foreign key to the table itself comes back {@code NOT VALID} after a copy that dropped it: validated
     * here once the table's parked changes are applied (they may mend a row copied before its parent was deleted).
     */
    private void validateForeignKeysToThemselves(List<TableId> tables) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + VALIDATE_FOR.toNanos();
        List<TableId> left = new ArrayList<>(tables);
        while (!left.isEmpty() && running.getAsBoolean()) {
            boolean last = System.nanoTime() > deadline;
            try (Connection s = service.open()) {
                s.setAutoCommit(true);
                for (java.util.Iterator<TableId> it = left.iterator(); it.hasNext(); ) {
                    TableId table = it.next();
                    List<String> pending = notValidSelfReferences(s, table);
                    if (pending.isEmpty()) {
                        it.remove();
                        continue;
                    }
                    if (parkedRows(s, table) > 0 && !last) {
                        continue;
                    }
                    for (String constraint : pending) {
                        String validate = "ALTER TABLE " + PostgresNames.qualified(table) + " VALIDATE CONSTRAINT " + q(constraint);
                        try (Statement st = s.createStatement()) {
                            st.execute(validate);
                            LOG.info("copy {}: foreign key {} of {} validated", writer, constraint, table);
                        } catch (SQLException e) {
                            if (last) {
                                LOG.error("copy {}: foreign key {} of {} stays NOT VALID (it holds for every row written since the copy, "
                                        + "but a row copied before does not satisfy it: {}). Find the row, mend it in the monolith, then run: {}",
                                        writer, constraint, table, e.getMessage(), validate);
                            }
                        }
                    }
                    if (last) {
                        it.remove();
                    }
                }
            }
            if (!left.isEmpty()) {
                Thread.sleep(1000);
            }
        }
    }

    private static List<String> notValidSelfReferences(Connection s, TableId table) throws SQLException {
        List<String> names = new ArrayList<>();
        try (PreparedStatement ps = s.prepareStatement("SELECT conname FROM pg_constraint WHERE conrelid = ?::regclass "
                + "AND confrelid = conrelid AND contype = 'f' AND NOT convalidated")) {
            ps.setString(1, PostgresNames.qualified(table));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }

    private long parkedRows(Connection s, TableId table) throws SQLException {
        try (PreparedStatement ps = s.prepareStatement("SELECT count(*) FROM " + WriterDialect.PARKED_TABLE + " WHERE writer = ? AND target_table = ?")) {
            ps.setString(1, writer);
            ps.setString(2, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * The slot must be consistent before the first chunk's snapshot: then every change that snapshot does not
     * see is in the stream. A slot being created is listed at once, but its {@code confirmed_flush_lsn} is set
     * only when it reached its consistent point (a transaction that commits before that is not streamed).
     */
    private void awaitSlot() throws SQLException, InterruptedException {
        long logged = 0;
        while (running.getAsBoolean()) {
            try (Connection c = monolith.open(); PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ? AND confirmed_flush_lsn IS NOT NULL")) {
                ps.setString(1, slotName);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return;
                    }
                }
            }
            if (System.nanoTime() - logged > 30_000_000_000L) {
                LOG.info("copy {}: waiting for the capture's replication slot {} before copying existing rows", writer, slotName);
                logged = System.nanoTime();
            }
            Thread.sleep(50);
        }
    }

    /**
     * A table added to the config joins the publication when the capture starts; a change is streamed only if
     * it commits after that, so the table's first chunk is read after it.
     */
    private void awaitPublished(TableId table) throws SQLException, InterruptedException {
        long logged = 0;
        while (running.getAsBoolean()) {
            try (Connection c = monolith.open(); PreparedStatement ps = c.prepareStatement(
                    "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
                ps.setString(1, publicationName);
                ps.setString(2, table.schema());
                ps.setString(3, table.table());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return;
                    }
                }
            }
            if (System.nanoTime() - logged > 30_000_000_000L) {
                LOG.info("copy {}: waiting for {} to be in the capture's publication {} before copying it", writer, table, publicationName);
                logged = System.nanoTime();
            }
            Thread.sleep(200);
        }
    }

    private void copy(Job job) throws SQLException, InterruptedException {
        TableRoute route = job.route();
        List<String> key = route.keyOr(job.source().primaryKey());
        List<String> keyTypes = key.stream().map(k -> job.source().column(k).orElseThrow().type()).toList();
        List<String> sourceColumns = job.source().columnNames().stream().filter(c -> route.targetColumn(c).isPresent()).toList();
        List<String> targetColumns = sourceColumns.stream().map(c -> route.targetColumn(c).orElseThrow()).toList();
        List<String> targetKey = key.stream().map(k -> route.targetColumn(k).orElseThrow()).toList();
        boolean binary = job.target() != null && binaryCopyable(sourceColumns, job.source(), job.target(), route);
        Statements sql = new Statements(route, key, keyTypes, sourceColumns, targetColumns, targetKey, binary);
        try (Connection m = monolith.open(); Connection s = service.open()) {
            prepare(m);
            prepare(s);
            // the chunks' boundaries: each query on its own, holding no lock on the monolith table after it (a TRUNCATE
            // there waits only for the chunks being read)
            m.setAutoCommit(true);
            m.setReadOnly(true);
            s.setAutoCommit(false);
            Progress progress = readProgress(s, route);
            rowsCopied.get(route.from()).addAndGet(progress.rows());
            if (progress.done()) {
                return;
            }
            List<String> deferred = progress.deferred();
            if (progress.lastKey().isEmpty() && progress.rows() == 0 && deferred.isEmpty()) {
                deferred = deferIndexes(s, route);
            }
            LOG.info("copy {}: {} → {} {} ({} COPY, chunks of {} rows, {} at once)", writer, route.from(), route.to(),
                    progress.lastKey().map(k -> "resumes after key " + k + " (" + progress.rows() + " rows copied before)").orElse("starts"),
                    binary ? "binary" : "text", chunkRows, threads);
            long started = System.nanoTime();
            TableCopy table = new TableCopy(route, sql, deferred, deferred.stream().anyMatch(TableCopier::buildsPrimaryKey));
            try (CopyStreams streams = new CopyStreams(threads, table)) {
                Optional<List<String>> last = progress.lastKey();
                for (long seq = 0; running.getAsBoolean() && !streams.turns.failed(); seq++) {
                    Optional<List<String>> high = boundary(m, sql, last);
                    streams.submit(new Chunk(seq, last, high));
                    if (high.isEmpty()) {
                        break;
                    }
                    last = high;
                }
                streams.awaitCopied();
            }
            if (table.done) {
                double seconds = (System.nanoTime() - started) / 1e9;
                long thisRun = table.rows.get();
                LOG.info("copy {}: {} → {} done: {} rows ({} s, {} rows/s this run{})", writer, route.from(), route.to(), progress.rows() + thisRun,
                        String.format("%.1f", seconds), Math.round(thisRun / Math.max(seconds, 0.001)),
                        table.readAgain.get() == 0 ? "" : "; " + table.readAgain.get() + " chunks read again after a foreign key rejected them");
            }
        }
    }

    /** One chunk of a table's key range: the keys after {@code last} up to {@code high} (empty: to the end), the {@code seq}-th of this run. */
    private record Chunk(long seq, Optional<List<String>> last, Optional<List<String>> high) {
    }

    /** What the chunks of one table's copy share. */
    private static final class TableCopy {
        final TableRoute route;
        final Statements sql;
        final List<String> deferred;
        final boolean keyless;
        /** The service table held rows of a chunk's range: every chunk from then on goes through the upsert. */
        final java.util.concurrent.atomic.AtomicBoolean viaStage = new java.util.concurrent.atomic.AtomicBoolean();
        final AtomicLong rows = new AtomicLong();
        final java.util.concurrent.atomic.AtomicInteger readAgain = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean done;

        TableCopy(TableRoute route, Statements sql, List<String> deferred, boolean keyless) {
            this.route = route;
            this.sql = sql;
            this.deferred = deferred;
            this.keyless = keyless;
        }
    }

    /**
     * The copy streams of one table: up to {@code threads} chunks copied at once, each on a monolith and a service
     * connection of its own, committed in key order ({@link CommitTurns}), so the progress row's last key always has
     * every row before it copied and a restart resumes as after a copy of one chunk at a time.
     */
    private final class CopyStreams implements AutoCloseable {
        final CommitTurns turns = new CommitTurns();
        private final TableCopy table;
        private final java.util.concurrent.BlockingQueue<Stream> idle;
        private final List<Stream> all = new ArrayList<>();
        private final java.util.concurrent.ExecutorService pool;
        private final List<java.util.concurrent.Future<?>> running = new ArrayList<>();

        CopyStreams(int threads, TableCopy table) throws SQLException {
            this.table = table;
            this.idle = new java.util.concurrent.ArrayBlockingQueue<>(threads);
            java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
            this.pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "strangler-copy-" + writer + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            try {
                for (int i = 0; i < threads; i++) {
                    Stream stream = new Stream(monolith.open(), service.open());
                    all.add(stream);
                    idle.add(stream);
                }
            } catch (SQLException e) {
                close();
                throw e;
            }
        }

        /** Hands the chunk to the next idle stream; waits for one. */
        void submit(Chunk chunk) throws InterruptedException {
            Stream stream = idle.take();
            String component = org.slf4j.MDC.get("component");
            running.removeIf(java.util.concurrent.Future::isDone);
            running.add(pool.submit(() -> {
                org.slf4j.MDC.put("component", component);
                try {
                    stream.copy(table, chunk, turns);
                } catch (SQLException | RuntimeException e) {
                    turns.fail(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    turns.fail(e);
                } finally {
                    idle.add(stream);
                }
            }));
        }

        /** Waits for the chunks handed over; throws what failed one of them. */
        void awaitCopied() throws SQLException, InterruptedException {
            for (java.util.concurrent.Future<?> f : running) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    turns.fail(e.getCause());
                }
            }
            Throwable failure = turns.failure();
            if (failure instanceof SQLException sqlError) {
                throw sqlError;
            }
            if (failure instanceof InterruptedException interrupted) {
                throw interrupted;
            }
            if (failure != null) {
                throw new SQLException("copy of " + table.route.from() + " failed: " + failure, "XX000", failure);
            }
        }

        @Override
        public void close() {
            pool.shutdownNow();
            try {
                pool.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Stream stream : all) {
                stream.close();
            }
        }
    }

    /**
     * The order in which a table's chunks commit: chunk n after chunk n-1. A chunk whose rows are in waits for
     * its turn with its transaction open; the service backends of the chunks in flight are known, so one that
     * holds what an earlier chunk waits for (the same value of a unique column, moved between two rows while
     * the chunks were read) sees it and steps back.
     */
    static final class CommitTurns {
        private long next;
        private final Map<Long, Integer> backends = new java.util.HashMap<>();
        private Throwable failure;

        synchronized void started(long seq, int backend) {
            backends.put(seq, backend);
        }

        /** Waits up to {@code millis} for chunk {@code seq}'s turn; true when it is, false when not yet (or the copy failed). */
        synchronized boolean awaitTurn(long seq, long millis) throws InterruptedException {
            long deadline = System.nanoTime() + millis * 1_000_000;
            while (next != seq && failure == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return next == seq && failure == null;
        }

        /** The service backends of the chunks before {@code seq} still in flight. */
        synchronized Integer[] backendsBefore(long seq) {
            return backends.entrySet().stream().filter(e -> e.getKey() < seq).map(Map.Entry::getValue).toArray(Integer[]::new);
        }

        synchronized void committed(long seq) {
            backends.remove(seq);
            next = seq + 1;
            notifyAll();
        }

        synchronized void fail(Throwable cause) {
            if (failure == null) {
                failure = cause;
            }
            notifyAll();
        }

        synchronized boolean failed() {
            return failure != null;
        }

        synchronized Throwable failure() {
            return failure;
        }
    }

    /** A monolith and a service connection that copy chunks. */
    private final class Stream implements AutoCloseable {
        private final Connection m;
        private final Connection s;
        private final int serviceBackend;

        Stream(Connection m, Connection s) throws SQLException {
            this.m = m;
            this.s = s;
            prepare(m);
            prepare(s);
            m.setAutoCommit(false);
            m.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            m.setReadOnly(true);
            s.setAutoCommit(false);
            this.serviceBackend = s.unwrap(PGConnection.class).getBackendPID();
        }

        /**
         * Copies the chunk and commits it in its turn, with the progress row (and, for the last chunk, the indexes
         * and keys dropped for the copy); returns without committing when the copier stops or another chunk failed.
         * The chunk's read holds its lock on the monolith table until the chunk has committed in the service.
         */
        void copy(TableCopy table, Chunk chunk, CommitTurns turns) throws SQLException, InterruptedException {
            int foreignKeyAttempts = 0;
            boolean inTurn = false;
            while (running.getAsBoolean() && !turns.failed()) {
                turns.started(chunk.seq(), serviceBackend);
                try {
                    long copied = table.viaStage.get() || foreignKeyAttempts > 0
                            ? copyViaStage(m, s, table.sql, chunk.last(), chunk.high(), foreignKeyAttempts > 0, table.keyless)
                            : copyStraight(m, s, table.sql, chunk.last(), chunk.high());
                    if (!inTurn && !awaitTurn(chunk.seq(), turns)) {
                        // an earlier chunk waits for this one, or the copy stops: again once it is this chunk's turn
                        s.rollback();
                        m.rollback();
                        while (running.getAsBoolean() && !turns.failed() && !turns.awaitTurn(chunk.seq(), 200)) {
                            // waiting without a transaction
                        }
                        inTurn = true;
                        continue;
                    }
                    if (chunk.high().isEmpty()) {
                        buildDeferred(s, table.route, table.deferred);
                    }
                    saveProgress(s, table.route, chunk.high(), copied, chunk.high().isEmpty());
                    s.commit();
                    m.commit();
                    table.rows.addAndGet(copied);
                    rowsCopied.get(table.route.from()).addAndGet(copied);
                    if (chunk.high().isEmpty()) {
                        table.done = true;
                    }
                    turns.committed(chunk.seq());
                    return;
                } catch (SQLException e) {
                    s.rollback();
                    m.rollback();
                    if (UNIQUE_VIOLATION.equals(e.getSQLState()) && !table.viaStage.get()) {
                        if (table.viaStage.compareAndSet(false, true)) {
                            LOG.info("copy {}: {} already holds rows of the range after {}: chunks go through an upsert from now on",
                                    writer, table.route.to(), chunk.last().orElse(List.of()));
                        }
                        continue;
                    }
                    if (FOREIGN_KEY_VIOLATION.equals(e.getSQLState()) && foreignKeyAttempts < FOREIGN_KEY_ATTEMPTS) {
                        // a parent deleted since the chunk's snapshot (the child's delete waits in the park), or a new
                        // parent the writer has not applied yet: the chunk again, without rows the monolith no longer has
                        foreignKeyAttempts++;
                        table.readAgain.incrementAndGet();
                        LOG.debug("copy {}: a foreign key rejected a chunk of {} ({}); retrying", writer, table.route.to(), e.getMessage());
                        Thread.sleep(Math.min(1000, 50L * foreignKeyAttempts));
                        continue;
                    }
                    throw new SQLException("copy of " + table.route.from() + " into " + table.route.to() + " after key "
                            + chunk.last().orElse(List.of()) + " failed: " + e.getMessage(), e.getSQLState(), e);
                }
            }
            s.rollback();
            m.rollback();
        }

        /**
         * Waits with the chunk's transaction open for its turn to commit; false when the copy stops or fails, or when
         * the service backend of an earlier chunk waits for a lock this chunk's transaction holds.
         */
        private boolean awaitTurn(long seq, CommitTurns turns) throws SQLException, InterruptedException {
            while (running.getAsBoolean()) {
                if (turns.awaitTurn(seq, 500)) {
                    return true;
                }
                if (turns.failed() || blocksAnEarlierChunk(turns.backendsBefore(seq))) {
                    return false;
                }
            }
            return false;
        }

        private boolean blocksAnEarlierChunk(Integer[] earlier) throws SQLException {
            if (earlier.length == 0) {
                return false;
            }
            try (PreparedStatement ps = s.prepareStatement("SELECT 1 FROM unnest(?::int[]) AS e(pid) WHERE ? = ANY (pg_blocking_pids(e.pid))")) {
                ps.setArray(1, s.createArrayOf("int4", earlier));
                ps.setInt(2, serviceBackend);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        }

        @Override
        public void close() {
            for (Connection c : List.of(m, s)) {
                try {
                    c.close();
                } catch (SQLException e) {
                    LOG.debug("copy {}: closing a copy connection: {}", writer, e.getMessage());
                }
            }
        }
    }

    private static void prepare(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            // both ends render and read values alike: text COPY of timestamptz, intervals, bytea, floats
            st.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
                    + "SET extra_float_digits = 3; SET bytea_output = 'hex'");
        }
    }

    private Progress readProgress(Connection s, TableRoute route) throws SQLException {
        try (PreparedStatement ps = s.prepareStatement("SELECT last_key, rows_copied, done, deferred FROM " + PROGRESS_TABLE
                + " WHERE writer = ? AND target_table = ?")) {
            ps.setString(1, writer);
            ps.setString(2, route.to().toString());
            try (ResultSet rs = ps.executeQuery()) {
                Progress p = new Progress(Optional.empty(), 0, false, List.of());
                if (rs.next()) {
                    Array a = rs.getArray(1);
                    Array d = rs.getArray(4);
                    p = new Progress(a == null ? Optional.empty() : Optional.of(List.of((String[]) a.getArray())), rs.getLong(2), rs.getBoolean(3),
                            d == null ? List.of() : List.of((String[]) d.getArray()));
                }
                s.commit();
                return p;
            }
        }
    }

    /**
     * Drops what an empty service table would keep up row by row during the copy (plain indexes, the primary
     * key when no other table's foreign key needs it, foreign keys to itself) and records the statements that
     * build them again in the progress row, in one transaction.
     *
     * @return those statements, in the order they run at the end (empty when the table is not empty)
     */
    private List<String> deferIndexes(Connection s, TableRoute route) throws SQLException {
        String table = PostgresNames.qualified(route.to());
        List<String> drops = new ArrayList<>();
        List<String> builds = new ArrayList<>();
        List<String> selfReferences = new ArrayList<>();
        try (Statement st = s.createStatement()) {
            st.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
            try (ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM " + table + ")")) {
                rs.next();
                if (rs.getBoolean(1)) {
                    s.commit();
                    return List.of();
                }
            }
        }
        String regclass = "'" + table.replace("'", "''") + "'::regclass";
        try (Statement st = s.createStatement(); ResultSet rs = st.executeQuery("SELECT c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_inherits i "
                + "WHERE i.inhrelid = c.oid OR i.inhparent = c.oid) FROM pg_class c WHERE c.oid = " + regclass)) {
            rs.next();
            if (!rs.getBoolean(1)) {
                // a partitioned table (or a partition, or inheritance): its indexes are built per partition; left as they are
                s.commit();
                return List.of();
            }
        }
        try (Statement st = s.createStatement(); ResultSet rs = st.executeQuery("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                + "WHERE conrelid = " + regclass + " AND confrelid = conrelid AND contype = 'f' ORDER BY conname")) {
            while (rs.next()) {
                drops.add("ALTER TABLE " + table + " DROP CONSTRAINT " + q(rs.getString(1)));
                selfReferences.add("ALTER TABLE " + table + " ADD CONSTRAINT " + q(rs.getString(1)) + " " + rs.getString(2) + " NOT VALID");
            }
        }
        try (Statement st = s.createStatement(); ResultSet rs = st.executeQuery("SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                + "WHERE c.conrelid = " + regclass + " AND c.contype = 'p' AND NOT EXISTS (SELECT 1 FROM pg_constraint f "
                + "WHERE f.contype = 'f' AND f.confrelid = c.conrelid AND f.conrelid <> c.conrelid)")) {
            if (rs.next()) {
                drops.add("ALTER TABLE " + table + " DROP CONSTRAINT " + q(rs.getString(1)));
                builds.add("ALTER TABLE " + table + " ADD CONSTRAINT " + q(rs.getString(1)) + " " + rs.getString(2));
            }
        }
        try (Statement st = s.createStatement(); ResultSet rs = st.executeQuery("SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                + "FROM pg_index i WHERE i.indrelid = " + regclass + " AND NOT i.indisunique "
                + "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1")) {
            while (rs.next()) {
                drops.add("DROP INDEX " + rs.getString(1));
                builds.add(0, rs.getString(2));
            }
        }
        builds.addAll(selfReferences);
        if (builds.isEmpty()) {
            s.commit();
            return List.of();
        }
        try (Statement st = s.createStatement()) {
            for (String drop : drops) {
                st.execute(drop);
            }
        }
        try (PreparedStatement ps = s.prepareStatement("INSERT INTO " + PROGRESS_TABLE + " (writer, target_table, source_table, deferred) "
                + "VALUES (?, ?, ?, ?) ON CONFLICT (writer, target_table) DO UPDATE SET deferred = EXCLUDED.deferred")) {
            ps.setString(1, writer);
            ps.setString(2, route.to().toString());
            ps.setString(3, route.from().toString());
            ps.setArray(4, s.createArrayOf("text", builds.toArray()));
            ps.executeUpdate();
        }
        s.commit();
        LOG.info("copy {}: {} is empty: it is copied without {} (built again after its last chunk)", writer, route.to(), drops.stream()
                .map(d -> d.replaceFirst("^(ALTER TABLE \\S+ )?DROP ", "")).collect(Collectors.joining(", ")));
        return builds;
    }

    /** Builds what {@link #deferIndexes} dropped, in the last chunk's transaction. */
    private void buildDeferred(Connection s, TableRoute route, List<String> deferred) throws SQLException {
        long started = System.nanoTime();
        if (!deferred.isEmpty() && !indexMemory.isEmpty()) {
            // more memory, fewer passes over temporary files and more parallel workers for the sort (a worker needs 32MB)
            try (PreparedStatement ps = s.prepareStatement("SELECT set_config('maintenance_work_mem', ?, true) "
                    + "WHERE pg_size_bytes(?) > pg_size_bytes(current_setting('maintenance_work_mem'))")) {
                ps.setString(1, indexMemory);
                ps.setString(2, indexMemory);
                ps.executeQuery().close();
            }
        }
        String memory = "";
        if (!deferred.isEmpty()) {
            try (Statement st = s.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('maintenance_work_mem')")) {
                rs.next();
                memory = rs.getString(1);
            }
        }
        for (String build : deferred) {
            try (Statement st = s.createStatement()) {
                st.execute(build);
            } catch (SQLException e) {
                // not a unique or foreign key violation of a chunk: the copy stops here and says which statement failed
                throw new SQLException("building " + build + " after the copy failed: " + e.getMessage()
                        + " (the copy resumes with its last chunk and tries again on restart)", "55000", e);
            }
        }
        if (!deferred.isEmpty()) {
            LOG.info("copy {}: {} built its {} deferred indexes and constraints in {} ms (maintenance_work_mem {})", writer, route.to(),
                    deferred.size(), (System.nanoTime() - started) / 1_000_000, memory);
        }
    }

    private void saveProgress(Connection s, TableRoute route, Optional<List<String>> high, long rows, boolean done) throws SQLException {
        try (PreparedStatement ps = s.prepareStatement("INSERT INTO " + PROGRESS_TABLE
                + " AS p (writer, target_table, source_table, last_key, rows_copied, done, updated_at) VALUES (?, ?, ?, ?, ?, ?, now()) "
                + "ON CONFLICT (writer, target_table) DO UPDATE SET last_key = EXCLUDED.last_key, rows_copied = p.rows_copied + EXCLUDED.rows_copied, "
                + "done = EXCLUDED.done, deferred = CASE WHEN EXCLUDED.done THEN NULL ELSE p.deferred END, updated_at = now()")) {
            ps.setString(1, writer);
            ps.setString(2, route.to().toString());
            ps.setString(3, route.from().toString());
            ps.setArray(4, high.isEmpty() ? null : s.createArrayOf("text", high.get().toArray()));
            ps.setLong(5, rows);
            ps.setBoolean(6, done);
            ps.executeUpdate();
        }
    }

    /** The last key of the next chunk, or empty when fewer than a chunk's rows are left (the last chunk). */
    private Optional<List<String>> boundary(Connection m, Statements sql, Optional<List<String>> last) throws SQLException {
        // literals, not parameters: a generic plan guesses an OFFSET parameter at a tenth of the table and then
        // prefers a (parallel) scan of all of it to the key's index
        try (Statement st = m.createStatement()) {
            try (ResultSet rs = st.executeQuery(sql.boundary(last, chunkRows - 1))) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                List<String> high = new ArrayList<>();
                for (int c = 1; c <= sql.key.size(); c++) {
                    high.add(rs.getString(c));
                }
                return Optional.of(high);
            }
        }
    }

    /** COPY of the chunk from the monolith straight into the service table. */
    private long copyStraight(Connection m, Connection s, Statements sql, Optional<List<String>> last, Optional<List<String>> high)
            throws SQLException {
        return pipe(m, sql.read(last, high), s, "COPY " + sql.target + " (" + sql.targetList() + ", " + TableRoute.VERSION_COLUMN
                + ") FROM STDIN" + sql.format());
    }

    /**
     * The chunk into a temporary table, then an upsert with the writer's guard (version 0: only rows without a
     * version, or with a forgotten one, are overwritten).
     *
     * @param recheck leave out rows whose key the monolith no longer has (or its filter no longer selects)
     * @param keyless  the table's primary key is dropped for the copy: the range holds no rows, a plain insert
     */
    private long copyViaStage(Connection m, Connection s, Statements sql, Optional<List<String>> last, Optional<List<String>> high,
                              boolean recheck, boolean keyless) throws SQLException {
        try (Statement st = s.createStatement()) {
            st.execute("DROP TABLE IF EXISTS pg_temp.strangler_copy_stage, pg_temp.strangler_copy_keys");
            st.execute("CREATE TEMP TABLE strangler_copy_stage AS SELECT " + sql.targetList() + ", " + TableRoute.VERSION_COLUMN
                    + " FROM " + sql.target + " WITH NO DATA");
        }
        pipe(m, sql.read(last, high), s, "COPY pg_temp.strangler_copy_stage FROM STDIN" + sql.format());
        if (recheck) {
            try (Statement st = s.createStatement()) {
                st.execute("CREATE TEMP TABLE strangler_copy_keys AS SELECT " + sql.targetKeyList() + " FROM " + sql.target + " WITH NO DATA");
            }
            // the monolith now, not the chunk's snapshot
            try (Connection now = monolith.open()) {
                prepare(now);
                pipe(now, sql.readKeys(last, high), s, "COPY pg_temp.strangler_copy_keys FROM STDIN");
            }
            try (Statement st = s.createStatement()) {
                st.executeUpdate("DELETE FROM pg_temp.strangler_copy_stage s WHERE NOT EXISTS (SELECT 1 FROM pg_temp.strangler_copy_keys k WHERE "
                        + sql.targetKey.stream().map(k -> "k." + q(k) + " = s." + q(k)).collect(Collectors.joining(" AND ")) + ")");
            }
        }
        if (keyless) {
            try (Statement st = s.createStatement()) {
                return st.executeUpdate("INSERT INTO " + sql.target + " (" + sql.targetList() + ", " + TableRoute.VERSION_COLUMN + ") SELECT "
                        + sql.targetList() + ", " + TableRoute.VERSION_COLUMN + " FROM pg_temp.strangler_copy_stage");
            }
        }
        try (Statement st = s.createStatement()) {
            List<String> sets = new ArrayList<>();
            sql.targetColumns.stream().filter(c -> !sql.targetKey.contains(c)).forEach(c -> sets.add(q(c) + " = EXCLUDED." + q(c)));
            sets.add(TableRoute.VERSION_COLUMN + " = EXCLUDED." + TableRoute.VERSION_COLUMN);
            return st.executeUpdate("INSERT INTO " + sql.target + " AS t (" + sql.targetList() + ", " + TableRoute.VERSION_COLUMN + ") SELECT "
                    + sql.targetList() + ", " + TableRoute.VERSION_COLUMN + " FROM pg_temp.strangler_copy_stage ON CONFLICT ("
                    + sql.targetKeyList() + ") DO UPDATE SET " + String.join(", ", sets) + " WHERE t." + TableRoute.VERSION_COLUMN
                    + " IS NULL OR t." + TableRoute.VERSION_COLUMN + " < EXCLUDED." + TableRoute.VERSION_COLUMN);
        }
    }

    /** COPY out of one connection into another, a row at a time, through a buffered COPY in. */
    private static long pipe(Connection from, String copyOut, Connection to, String copyIn) throws SQLException {
        CopyOut out = from.unwrap(PGConnection.class).getCopyAPI().copyOut(copyOut);
        try (PGCopyOutputStream in = new PGCopyOutputStream(to.unwrap(PGConnection.class), copyIn, 1 << 16)) {
            byte[] row;
            while ((row = out.readFromCopy()) != null) {
                in.write(row);
            }
            in.endCopy();
            return out.getHandledRowCount();
        } catch (IOException e) {
            if (out.isActive()) {
                out.cancelCopy();
            }
            if (e.getCause() instanceof SQLException sqlError) {
                throw sqlError;
            }
            throw new SQLException("COPY into the service failed: " + e.getMessage(), "08006", e);
        } catch (SQLException e) {
            if (out.isActive()) {
                out.cancelCopy();
            }
            throw e;
        }
    }

    private static String q(String identifier) {
        return PostgresNames.quote(identifier);
    }

    /** The SQL of one route's copy. */
    private static final class Statements {
        final TableRoute route;
        final List<String> key;
        final List<String> keyTypes;
        final List<String> sourceColumns;
        final List<String> targetColumns;
        final List<String> targetKey;
        final String source;
        final String target;
        final boolean binary;

        Statements(TableRoute route, List<String> key, List<String> keyTypes, List<String> sourceColumns, List<String> targetColumns,
                   List<String> targetKey, boolean binary) {
            this.binary = binary;
            this.route = route;
            this.key = key;
            this.keyTypes = keyTypes;
            this.sourceColumns = sourceColumns;
            this.targetColumns = targetColumns;
            this.targetKey = targetKey;
            this.source = PostgresNames.qualified(route.from());
            this.target = PostgresNames.qualified(route.to());
        }

        /** The rows' format, for both ends of a chunk's COPY (the recheck's keys always go as text). */
        String format() {
            return binary ? " (FORMAT binary)" : "";
        }

        String targetList() {
            return targetColumns.stream().map(TableCopier::q).collect(Collectors.joining(", "));
        }

        String targetKeyList() {
            return targetKey.stream().map(TableCopier::q).collect(Collectors.joining(", "));
        }

        private String keyTuple() {
            return "(" + key.stream().map(TableCopier::q).collect(Collectors.joining(", ")) + ")";
        }

        /** The key {@code offset} rows after {@code last}, in key order. */
        String boundary(Optional<List<String>> last, int offset) {
            // the output columns get names of their own: ORDER BY "id" would otherwise sort by the output "id"::text
            List<String> out = new ArrayList<>();
            for (int i = 0; i < key.size(); i++) {
                out.add(q(key.get(i)) + "::text AS strangler_key_" + i);
            }
            return "SELECT " + String.join(", ", out) + " FROM " + source
                    + last.map(l -> " WHERE " + keyTuple() + " > " + literal(l)).orElse("") + " ORDER BY " + key.stream().map(TableCopier::q)
                    .collect(Collectors.joining(", ")) + " OFFSET " + offset + " LIMIT 1";
        }

        /** The range's condition with the keys inlined as literals (COPY takes no parameters). */
        private String range(Optional<List<String>> last, Optional<List<String>> high) {
            List<String> conditions = new ArrayList<>();
            last.ifPresent(l -> conditions.add(keyTuple() + " > " + literal(l)));
            high.ifPresent(h -> conditions.add(keyTuple() + " <= " + literal(h)));
            route.where().ifPresent(w -> conditions.add("(" + w.text() + ")"));
            return conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions);
        }

        private String literal(List<String> values) {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                parts.add("'" + values.get(i).replace("'", "''") + "'::" + keyTypes.get(i));
            }
            return "(" + String.join(", ", parts) + ")";
        }

        String read(Optional<List<String>> last, Optional<List<String>> high) {
            return "COPY (SELECT " + sourceColumns.stream().map(TableCopier::q).collect(Collectors.joining(", ")) + ", 0::bigint FROM "
                    + source + range(last, high) + ") TO STDOUT" + format();
        }

        String readKeys(Optional<List<String>> last, Optional<List<String>> high) {
            return "COPY (SELECT " + key.stream().map(TableCopier::q).collect(Collectors.joining(", ")) + " FROM " + source
                    + range(last, high) + ") TO STDOUT";
        }
    }
}
