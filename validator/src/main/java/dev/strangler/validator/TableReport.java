package dev.strangler.validator;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The result of one validation pass over one table.
 *
 * @param sourceRows    rows of the monolith table the service should hold (after the route's filter)
 * @param targetRows    rows of the service table
 * @param segments      key-range segments compared by checksum (before splitting the ones that differed)
 * @param segmentsSplit segments that differed and were split or fetched row by row
 * @param inFlight      keys that differed at first but matched when checked again (replication caught up)
 * @param sample        the first drifted keys found, at most the configured sample size
 */
public record TableReport(String service, String table, String sourceTable, long sourceRows, long targetRows, int segments,
                          int segmentsSplit, long missing, long extra, long different, long inFlight, List<Drift> sample,
                          Duration duration, Instant finishedAt) {

    public TableReport {
        sample = List.copyOf(sample);
    }

    public long drifted() {
        return missing + extra + different;
    }

    public boolean consistent() {
        return drifted() == 0;
    }

    /** Share of rows that match: 1 when consistent. */
    public double matchingRatio() {
        long rows = Math.max(sourceRows, targetRows);
        return rows == 0 ? 1.0 : Math.max(0, rows - drifted()) / (double) rows;
    }
}
