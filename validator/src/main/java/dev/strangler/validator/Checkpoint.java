package dev.strangler.validator;

import java.time.Instant;
import java.util.List;

/**
 * How far a validation pass has come: every key up to and including {@code after} is compared and its
 * drift confirmed (counted here), so a pass cut short resumes after it.
 *
 * @param after the last key (text per key column) finished; null before the first segment
 */
public record Checkpoint(List<String> after, Instant startedAt, long sourceRows, long targetRows, int segments, int segmentsSplit,
                         long missing, long extra, long different, long inFlight, List<Drift> sample) {

    public Checkpoint {
        after = after == null ? null : List.copyOf(after);
        sample = List.copyOf(sample);
    }

    /** The start of a pass. */
    public static Checkpoint start(Instant at) {
        return new Checkpoint(null, at, 0, 0, 0, 0, 0, 0, 0, 0, List.of());
    }
}
