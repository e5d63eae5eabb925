package dev.strangler.router.internal;

import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.config.RouteSettings;
import dev.strangler.router.ReplicationHealth;
import dev.strangler.router.Side;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks a route's gates: the service side's error rate and p99 latency against the monolith side's
 * over the gate window, the replication lag of the route's tables, and the validator's latest verdict
 * on them. With fewer than {@code minRequests} service requests in the window the traffic gates cannot
 * judge and let the ramp go on (at weight 0 the service has no traffic to judge by).
 */
public final class GateCheck {

    private final ReplicationHealth health;
    private final Clock clock;
    private final MeterRegistry metrics;
    private final Map<String, Integer> passing = new ConcurrentHashMap<>();

    public GateCheck(ReplicationHealth health, Clock clock, MeterRegistry metrics) {
        this.health = health;
        this.clock = clock;
        this.metrics = metrics;
    }

    public GateReport check(LiveRoute route) {
        RouteSettings.Gates g = route.settings().gates();
        long now = clock.millis();
        List<GateReport.Gate> gates = new ArrayList<>();
        SideWindow.Totals service = route.side(Side.SERVICE).totals(now);
        SideWindow.Totals monolith = route.side(Side.MONOLITH).totals(now);
        if (service.requests() < g.minRequests()) {
            String wait = service.requests() + " service requests in the last " + g.window().toSeconds() + "s, fewer than minRequests "
                    + g.minRequests() + ": not enough to judge";
            gates.add(new GateReport.Gate("error-rate", true, wait));
            gates.add(new GateReport.Gate("latency", true, wait));
        } else {
            double increase = service.errorRate() - monolith.errorRate();
            gates.add(new GateReport.Gate("error-rate", increase <= g.maxErrorRateIncrease(), String.format(java.util.Locale.ROOT,
                    "service %.2f%% (%d of %d) vs monolith %.2f%% (%d of %d); at most +%.2f%% allowed",
                    service.errorRate() * 100, service.errors(), service.requests(), monolith.errorRate() * 100, monolith.errors(),
                    monolith.requests(), g.maxErrorRateIncrease() * 100)));
            Optional<Duration> sp = route.side(Side.SERVICE).p99(now);
            Optional<Duration> mp = route.side(Side.MONOLITH).p99(now);
            if (sp.isEmpty() || mp.isEmpty() || monolith.requests() < g.minRequests()) {
                gates.add(new GateReport.Gate("latency", true, "monolith side has too few requests to compare p99 with"));
            } else {
                double ratio = (double) sp.get().toNanos() / Math.max(1, mp.get().toNanos());
                gates.add(new GateReport.Gate("latency", ratio <= g.maxLatencyRatio(), String.format(java.util.Locale.ROOT,
                        "p99 service %.1f ms vs monolith %.1f ms = %.2fx; at most %.2fx allowed",
                        sp.get().toNanos() / 1e6, mp.get().toNanos() / 1e6, ratio, g.maxLatencyRatio())));
            }
        }
        List<TableId> tables = route.settings().tables();
        if (tables.isEmpty()) {
            gates.add(new GateReport.Gate("replication-lag", true, "the route names no tables"));
            gates.add(new GateReport.Gate("consistency", true, "the route names no tables"));
        } else {
            gates.add(lagGate(tables, g.maxLag()));
            gates.add(g.requireConsistent() ? consistencyGate(tables)
                    : new GateReport.Gate("consistency", true, "not required (gates.requireConsistent: false)"));
        }
        GateReport report = new GateReport(clock.instant(), gates);
        for (GateReport.Gate gate : gates) {
            String key = route.name() + "/" + gate.name();
            if (passing.put(key, gate.passed() ? 1 : 0) == null) {
                Gauge.builder(MetricNames.ROUTER_GATE_PASSING, passing, m -> m.getOrDefault(key, 0)).tag(MetricNames.TAG_ROUTE, route.name())
                        .tag(MetricNames.TAG_GATE, gate.name()).description("1 when the gate passes").register(metrics);
            }
        }
        route.lastGates(report);
        return report;
    }

    private GateReport.Gate lagGate(List<TableId> tables, Duration max) {
        List<String> parts = new ArrayList<>();
        boolean ok = true;
        for (TableId table : tables) {
            Optional<Duration> lag = health.lag(table);
            if (lag.isEmpty()) {
                ok = false;
                parts.add(table + " lag unknown (no writer for it reports to this process)");
            } else {
                ok &= lag.get().compareTo(max) <= 0;
                parts.add(table + " " + lag.get().toMillis() + " ms");
            }
        }
        return new GateReport.Gate("replication-lag", ok, String.join(", ", parts) + "; at most " + max.toMillis() + " ms allowed");
    }

    private GateReport.Gate consistencyGate(List<TableId> tables) {
        List<String> parts = new ArrayList<>();
        boolean ok = true;
        for (TableId table : tables) {
            Optional<Boolean> consistent = health.consistent(table);
            ok &= consistent.orElse(false);
            parts.add(table + (consistent.isEmpty() ? " has no validator pass yet" : consistent.get() ? " consistent" : " has drift"));
        }
        return new GateReport.Gate("consistency", ok, String.join(", ", parts));
    }
}
