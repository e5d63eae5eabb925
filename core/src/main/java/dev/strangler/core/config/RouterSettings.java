package dev.strangler.core.config;

import java.time.Duration;
import java.util.List;

/**
 * The HTTP traffic router: where it listens, its admin API, how it talks to upstreams, and its
 * routes in the order they are matched. Absent from the config (no {@code router:} key) the
 * router does not run. See docs/router.md.
 *
 * @param listen         where clients connect
 * @param admin          where the admin API listens (a separate port, bearer token required)
 * @param adminToken     the bearer token of the admin API; empty refuses every admin call
 * @param defaultUpstream where requests that match no route go (the monolith)
 * @param connectTimeout how long to wait for an upstream connection
 * @param upstreamTimeout how long an upstream may stay silent in the middle of a response
 * @param maxConnectionsPerUpstream size of the keep-alive pool to each upstream, per event loop
 * @param eventLoops     threads that serve connections (0: one per core)
 * @param routes         matched in this order; the first that matches a request takes it
 * @param lagFrom        base URLs of the Strangler processes that run capture and writers, when the router runs
 *                       apart from them: the lag gate reads their {@code /api/status}
 */
public record RouterSettings(HttpSettings listen, HttpSettings admin, Secret adminToken, java.net.URI defaultUpstream,
                             Duration connectTimeout, Duration upstreamTimeout, int maxConnectionsPerUpstream,
                             int eventLoops, List<RouteSettings> routes, List<java.net.URI> lagFrom) {

    public RouterSettings {
        routes = List.copyOf(routes);
        lagFrom = List.copyOf(lagFrom);
    }

    public java.util.Optional<RouteSettings> route(String name) {
        return routes.stream().filter(r -> r.name().equals(name)).findFirst();
    }
}
