package dev.strangler.core.config;

import java.time.Duration;

/**
 * How changes are read from the monolith.
 *
 * @param snapshot          whether existing rows are copied before streaming starts
 * @param pollInterval      how often the capture engine hands batches over (latency vs CPU)
 * @param heartbeatInterval how often a heartbeat advances the replication slot on quiet tables
 * @param slotName          the logical replication slot, created when missing
 * @param publicationName   the publication, created when missing with the mapped tables
 * @param copyChunkRows     rows per chunk of {@link SnapshotMode#COPY}: one COPY and one service transaction each
 * @param copyThreads       chunks of a table {@link SnapshotMode#COPY} copies at once, each on a monolith and a service
 *                          connection of its own (they commit in key order)
 * @param copyIndexMemory   {@code maintenance_work_mem} for building a copied table's indexes after its last chunk
 *                          (a PostgreSQL size such as {@code 256MB}; used where larger than the server's), empty:
 *                          the server's
 */
public record CaptureSettings(SnapshotMode snapshot, Duration pollInterval, Duration heartbeatInterval,
                              String slotName, String publicationName, int copyChunkRows, int copyThreads, String copyIndexMemory) {

    /** Rows per chunk of a {@link SnapshotMode#COPY} copy unless configured. */
    public static final int DEFAULT_COPY_CHUNK_ROWS = 50_000;
    /** Chunks copied at once unless configured. */
    public static final int DEFAULT_COPY_THREADS = 2;
    /** Memory for the index builds after a copy unless configured (as PostgreSQL's docs advise for a restore). */
    public static final String DEFAULT_COPY_INDEX_MEMORY = "256MB";

    public CaptureSettings(SnapshotMode snapshot, Duration pollInterval, Duration heartbeatInterval, String slotName, String publicationName) {
        this(snapshot, pollInterval, heartbeatInterval, slotName, publicationName, DEFAULT_COPY_CHUNK_ROWS, DEFAULT_COPY_THREADS, DEFAULT_COPY_INDEX_MEMORY);
    }

    /** Whether the capture copies the rows that exist before it starts. */
    public enum SnapshotMode {
        /** copy existing rows once, on the first start, before changes stream (Debezium's blocking snapshot) */
        INITIAL("initial"),
        /**
         * copy existing rows once, from the first start, in chunks while changes stream (Debezium's incremental
         * snapshot): a restart resumes the copy from its last stored chunk instead of starting it over
         */
        INCREMENTAL("incremental"),
        /**
         * copy existing rows from the first start, table by table in chunks of {@code copyChunkRows}, with
         * PostgreSQL's COPY straight from the monolith into the service (not through Debezium and Kafka), while
         * changes stream: a table's changes wait in the service's park until its copy is done, then are applied
         * over it. A restart resumes after the last copied chunk. PostgreSQL on both ends.
         */
        COPY("copy"),
        /** only stream changes made from now on */
        NEVER("never");

        private final String configName;

        SnapshotMode(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }
}
