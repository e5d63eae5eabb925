package dev.strangler.router.internal;

import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/** The result of checking a route's gates once. */
public record GateReport(Instant at, List<Gate> gates) {

    public static final GateReport NOT_CHECKED = new GateReport(Instant.EPOCH, List.of());

    /**
     * One gate.
     *
     * @param name   error-rate, latency, replication-lag or consistency
     * @param passed whether it lets the ramp go on
     * @param detail the figures it compared, or why it could not judge
     */
    public record Gate(String name, boolean passed, String detail) {
    }

    public boolean passed() {
        return gates.stream().allMatch(Gate::passed);
    }

    /** The failing gates with their details, for logs and the ramp's reason. */
    public String failures() {
        return gates.stream().filter(g -> !g.passed()).map(g -> g.name() + ": " + g.detail()).collect(Collectors.joining("; "));
    }
}
