package dev.strangler.router.internal;

import dev.strangler.core.MetricNames;
import dev.strangler.core.config.RouteSettings;
import dev.strangler.router.RampState;
import dev.strangler.router.RouteState;
import dev.strangler.router.Side;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** One configured route with the state in force, its per-side statistics and shadow samples. */
public final class LiveRoute {

    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    private final RouteSettings settings;
    private final MeterRegistry metrics;
    private volatile RouteState state;
    private final Map<Side, SideMeters> sides = new EnumMap<>(Side.class);
    private final AtomicInteger shadowInFlight = new AtomicInteger();
    private final Deque<ShadowMismatch> mismatches = new ArrayDeque<>();
    private final Map<String, Counter> shadowResults = new java.util.concurrent.ConcurrentHashMap<>();
    private final Counter rollbacks;
    private volatile GateReport lastGates = GateReport.NOT_CHECKED;
    private final ShadowComparison shadowComparison;

    public LiveRoute(RouteSettings settings, MeterRegistry metrics) {
        this.settings = settings;
        this.metrics = metrics;
        this.state = RouteState.initial(settings.initialWeight());
        this.shadowComparison = new ShadowComparison(settings.shadow().ignoreFields());
        for (Side side : Side.values()) {
            sides.put(side, new SideMeters(settings.name(), side, settings.gates().window(), metrics));
        }
        Gauge.builder(MetricNames.ROUTER_WEIGHT, this, r -> r.state.enabled() ? r.state.weight().basisPoints() : 0)
                .tag(MetricNames.TAG_ROUTE, settings.name()).description("weight in force, basis points (0 while the route is disabled)")
                .register(metrics);
        Gauge.builder(MetricNames.ROUTER_RAMP_RUNNING, this, r -> r.state.ramp().filter(x -> x.state() == RampState.RUNNING).isPresent() ? 1 : 0)
                .tag(MetricNames.TAG_ROUTE, settings.name()).description("1 while a ramp runs").register(metrics);
        rollbacks = Counter.builder(MetricNames.ROUTER_ROLLBACKS).tag(MetricNames.TAG_ROUTE, settings.name())
                .description("rollbacks seen, by an operator or a failing gate").register(metrics);
    }

    public String name() {
        return settings.name();
    }

    public RouteSettings settings() {
        return settings;
    }

    public RouteState state() {
        return state;
    }

    /** Takes a newly accepted state; counts a rollback when this state is one. */
    public void state(RouteState next) {
        RouteState previous = state;
        state = next;
        boolean newRollback = next.revision() != previous.revision() && next.reason().startsWith("rollback");
        if (newRollback) {
            rollbacks.increment();
        }
    }

    /** Whether a request is one of this route's. */
    public boolean matches(RequestView r) {
        RouteSettings.Match m = settings.match();
        if (!m.methods().isEmpty() && !m.methods().contains(r.method())) {
            return false;
        }
        String path = r.path();
        if (m.pathPrefix().isPresent()) {
            String prefix = m.pathPrefix().get();
            boolean segment = prefix.endsWith("/") || path.length() == prefix.length() || path.length() > prefix.length()
                    && (path.charAt(prefix.length()) == '/' || path.charAt(prefix.length()) == '?');
            if (!path.startsWith(prefix) || !segment) {
                return false;
            }
        }
        if (m.pathPattern().isPresent() && !m.pathPattern().get().matcher(path).matches()) {
            return false;
        }
        if (m.host().isPresent() && !m.host().get().equals(r.host())) {
            return false;
        }
        if (m.headerName().isPresent()) {
            String value = r.header(m.headerName().get());
            return value != null && (m.headerValue().isEmpty() || m.headerValue().get().equals(value));
        }
        return true;
    }

    /**
     * The side for a request: a disabled route and the exclude cohort go to the monolith, the canary
     * cohort to the service, everyone else by sticky bucket against the weight in force.
     */
    public Side choose(RequestView r) {
        RouteState s = state;
        if (!s.enabled()) {
            return Side.MONOLITH;
        }
        String key = stickyKey(r);
        if (in(settings.exclude(), r, key)) {
            return Side.MONOLITH;
        }
        if (in(settings.canary(), r, key)) {
            return Side.SERVICE;
        }
        int weight = s.weight().basisPoints();
        if (weight == 0) {
            return Side.MONOLITH;
        }
        if (weight == dev.strangler.core.Weight.MAX_BASIS_POINTS) {
            return Side.SERVICE;
        }
        if (key == null) {
            switch (settings.fallback()) {
                case MONOLITH:
                    return Side.MONOLITH;
                case RANDOM:
                    return ThreadLocalRandom.current().nextInt(dev.strangler.core.Weight.MAX_BASIS_POINTS) < weight ? Side.SERVICE : Side.MONOLITH;
                case CLIENT_ADDRESS:
                default:
                    key = r.clientAddress();
            }
        }
        return StickyBucketer.bucket(settings.name(), key) < weight ? Side.SERVICE : Side.MONOLITH;
    }

    private String stickyKey(RequestView r) {
        RouteSettings.StickyKey k = settings.stickyKey();
        String value = switch (k.source()) {
            case HEADER -> r.header(k.name());
            case COOKIE -> r.cookie(k.name());
            case CLIENT_ADDRESS -> r.clientAddress();
        };
        return value == null || value.isEmpty() ? null : value;
    }

    private static boolean in(RouteSettings.Cohort cohort, RequestView r, String key) {
        if (cohort.isEmpty()) {
            return false;
        }
        if (cohort.header().isPresent() && cohort.value().equals(r.header(cohort.header().get()))) {
            return true;
        }
        return key != null && cohort.keys().contains(key);
    }

    /** Whether a request the monolith serves is also copied to the service. */
    public boolean shadows(String method) {
        RouteSettings.Shadow shadow = settings.shadow();
        return shadow.enabled() && (shadow.unsafeMethods() || SAFE_METHODS.contains(method));
    }

    /** Takes a slot for a shadow copy; false (and counted as skipped) when {@code maxInFlight} are in flight. */
    public boolean tryStartShadow() {
        if (shadowInFlight.incrementAndGet() > settings.shadow().maxInFlight()) {
            shadowInFlight.decrementAndGet();
            shadowResult("skipped");
            return false;
        }
        return true;
    }

    public void shadowDone(String result, Optional<ShadowMismatch> mismatch) {
        shadowInFlight.decrementAndGet();
        shadowResult(result);
        mismatch.ifPresent(m -> {
            synchronized (mismatches) {
                if (settings.shadow().samples() == 0) {
                    return;
                }
                while (mismatches.size() >= settings.shadow().samples()) {
                    mismatches.removeFirst();
                }
                mismatches.addLast(m);
            }
        });
    }

    private void shadowResult(String result) {
        shadowResults.computeIfAbsent(result, x -> Counter.builder(MetricNames.ROUTER_SHADOW).tag(MetricNames.TAG_ROUTE, settings.name())
                .tag(MetricNames.TAG_RESULT, x).description("shadow comparisons by result").register(metrics)).increment();
    }

    /** How this route's shadow answers are compared (its ignored fields). */
    public ShadowComparison shadowComparison() {
        return shadowComparison;
    }

    /** Shadow comparisons so far, by result. */
    public Map<String, Long> shadowCounts() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        shadowResults.forEach((k, c) -> counts.put(k, (long) c.count()));
        return counts;
    }

    /** The most recent mismatches, oldest first. */
    public List<ShadowMismatch> mismatches() {
        synchronized (mismatches) {
            return List.copyOf(mismatches);
        }
    }

    public SideMeters side(Side side) {
        return sides.get(side);
    }

    public GateReport lastGates() {
        return lastGates;
    }

    public void lastGates(GateReport report) {
        lastGates = report;
    }

    /** Meters and the gate window of one side of one route, created once. */
    public static final class SideMeters {
        private final Timer latency;
        private final Counter[] statusClasses = new Counter[6];
        private final Map<String, Counter> failures = new java.util.concurrent.ConcurrentHashMap<>();
        private final SideWindow window;
        private final String route;
        private final Side side;
        private final MeterRegistry metrics;

        SideMeters(String route, Side side, Duration window, MeterRegistry metrics) {
            this.route = route;
            this.side = side;
            this.metrics = metrics;
            this.latency = Timer.builder(MetricNames.ROUTER_LATENCY).tag(MetricNames.TAG_ROUTE, route).tag(MetricNames.TAG_SIDE, side.label())
                    .description("request start to response end through the router")
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                    .register(metrics);
            for (int c = 1; c <= 5; c++) {
                statusClasses[c] = Counter.builder(MetricNames.ROUTER_REQUESTS).tag(MetricNames.TAG_ROUTE, route)
                        .tag(MetricNames.TAG_SIDE, side.label()).tag(MetricNames.TAG_STATUS_CLASS, c + "xx")
                        .description("requests answered, by status class").register(metrics);
            }
            this.window = new SideWindow((int) Math.max(1, window.toSeconds()));
        }

        /** Records a finished request. */
        public void record(int status, long nanos, long nowMillis) {
            latency.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            int c = status / 100;
            statusClasses[c >= 1 && c <= 5 ? c : 5].increment();
            window.record(nowMillis, status >= 500, nanos);
        }

        /** Records an upstream failure (answered by the router with 502 or 504). */
        public void failure(String reason, int status, long nanos, long nowMillis) {
            failures.computeIfAbsent(reason, r -> Counter.builder(MetricNames.ROUTER_UPSTREAM_FAILURES).tag(MetricNames.TAG_ROUTE, route)
                    .tag(MetricNames.TAG_SIDE, side.label()).tag(MetricNames.TAG_REASON, r.toLowerCase(Locale.ROOT))
                    .description("upstream requests that failed before a response").register(metrics)).increment();
            record(status, nanos, nowMillis);
        }

        SideWindow.Totals totals(long nowMillis) {
            return window.totals(nowMillis);
        }

        /** p99 latency over the gate window, or empty before any request in it. */
        Optional<Duration> p99(long nowMillis) {
            return window.totals(nowMillis).percentile(0.99);
        }

        public long count() {
            return latency.count();
        }
    }
}
