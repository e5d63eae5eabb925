package dev.strangler.core.config;

import dev.strangler.core.TableId;
import dev.strangler.core.Weight;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One route of the traffic router: which requests it takes, its two upstreams, and how it splits
 * them. The weight here is only the starting weight; the live weight is on the routes topic.
 *
 * @param name     stable name used by the CLI, the admin API, metrics and the routes topic
 * @param match    which requests the route takes
 * @param monolith upstream serving the old code path
 * @param service  upstream serving the new service
 * @param initialWeight the weight before the routes topic holds any for this route
 * @param stickyKey where the key that keeps a user on one side comes from
 * @param fallback what decides the side of a request that lacks the sticky key
 * @param canary   requests forced to the service
 * @param exclude  requests forced to the monolith (checked before the canary)
 * @param shadow   shadow comparison of the service against the monolith
 * @param gates    what a ramp checks before each step and while it runs
 * @param tables   monolith tables the service reads on this route; the gates check their lag and consistency
 */
public record RouteSettings(String name, Match match, URI monolith, URI service, Weight initialWeight,
                            StickyKey stickyKey, Fallback fallback, Cohort canary, Cohort exclude,
                            Shadow shadow, Gates gates, List<TableId> tables) {

    public RouteSettings {
        tables = List.copyOf(tables);
    }

    /**
     * Which requests a route takes. Every given part must hold.
     *
     * @param pathPrefix  the path starts with this (segment-wise: /api/orders takes /api/orders/7, not /api/ordersX)
     * @param pathPattern or the whole path matches this regular expression
     * @param methods     upper-case methods; empty: every method
     * @param host        the Host header without port, when given
     * @param headerName  a header that must be present, when given
     * @param headerValue its required value, when given
     */
    public record Match(Optional<String> pathPrefix, Optional<Pattern> pathPattern, Set<String> methods,
                        Optional<String> host, Optional<String> headerName, Optional<String> headerValue) {
        public Match {
            methods = Set.copyOf(methods);
        }
    }

    /** Where the sticky key comes from: a header, a cookie, or the client's address. */
    public record StickyKey(Source source, String name) {
        public enum Source {
            HEADER("header"), COOKIE("cookie"), CLIENT_ADDRESS("client-address");

            private final String configName;

            Source(String configName) {
                this.configName = configName;
            }

            public String configName() {
                return configName;
            }
        }

        /** {@code header:X-User-Id}, {@code cookie:uid}, {@code client-address}. */
        @Override
        public String toString() {
            return source == Source.CLIENT_ADDRESS ? source.configName : source.configName + ":" + name;
        }
    }

    /** How a request without its sticky key is placed. */
    public enum Fallback {
        /** By the client's address: stable per client. */
        CLIENT_ADDRESS("client-address"),
        /** Randomly by the weight: not sticky. */
        RANDOM("random"),
        /** Always the monolith. */
        MONOLITH("monolith");

        private final String configName;

        Fallback(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /**
     * A set of requests singled out by a header value or by sticky keys (user ids).
     *
     * @param header header to look at, when given
     * @param value  the header's value that selects the request
     * @param keys   sticky key values (e.g. user ids) that select the request
     */
    public record Cohort(Optional<String> header, String value, Set<String> keys) {
        public static final Cohort NONE = new Cohort(Optional.empty(), "", Set.of());

        public Cohort {
            keys = Set.copyOf(keys);
        }

        public boolean isEmpty() {
            return header.isEmpty() && keys.isEmpty();
        }
    }

    /**
     * Shadow comparison: the monolith serves, the service gets a copy in the background.
     *
     * @param enabled        whether requests served by the monolith are copied to the service
     * @param ignoreFields   JSON field names left out of the comparison, at any depth (timestamps, ids)
     * @param unsafeMethods  also copy POST, PUT, PATCH, DELETE (off: they could change data twice)
     * @param samples        most mismatches kept for inspection
     * @param maxInFlight    copies in flight at once; more are skipped and counted, so a slow service cannot pile up work
     * @param maxBodyBytes   largest response body compared; larger ones are counted as skipped
     */
    public record Shadow(boolean enabled, Set<String> ignoreFields, boolean unsafeMethods, int samples, int maxInFlight,
                         int maxBodyBytes) {
        public Shadow {
            ignoreFields = Set.copyOf(ignoreFields);
        }
    }

    /**
     * What a ramp checks. A gate passes when the service side is no worse than the monolith side by
     * more than the margins below, over the last {@code window}.
     *
     * @param window              the period the error rate and latency are measured over
     * @param minRequests         fewer service requests than this in the window: the traffic gates wait
     * @param maxErrorRateIncrease service error rate (5xx and upstream failures) minus the monolith's, as a fraction
     * @param maxLatencyRatio     service p99 over monolith p99
     * @param maxLag              largest replication lag of the route's tables
     * @param requireConsistent   the validator's latest pass of each table found no drift
     * @param onFailure           what a failing gate does to a running ramp
     */
    public record Gates(Duration window, int minRequests, double maxErrorRateIncrease, double maxLatencyRatio,
                        Duration maxLag, boolean requireConsistent, OnFailure onFailure) {
        public enum OnFailure {
            PAUSE("pause"), ROLLBACK("rollback");

            private final String configName;

            OnFailure(String configName) {
                this.configName = configName;
            }

            public String configName() {
                return configName;
            }
        }
    }
}
