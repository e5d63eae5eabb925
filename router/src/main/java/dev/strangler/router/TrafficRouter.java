package dev.strangler.router;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentLifecycle;
import dev.strangler.core.ComponentState;
import dev.strangler.core.config.RouteSettings;
import dev.strangler.core.config.RouterSettings;
import dev.strangler.router.internal.AdminApi;
import dev.strangler.router.internal.GateCheck;
import dev.strangler.router.internal.LiveRoute;
import dev.strangler.router.internal.ProxyServer;
import dev.strangler.router.internal.RampDriver;
import dev.strangler.router.internal.RouteFollower;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The HTTP traffic router: a reverse proxy that sends each request of a route to the monolith or the
 * service by sticky percentage, with canary and exclude cohorts, shadow comparison, gated ramps and
 * rollback; plus its admin API. Weights live on the compacted routes topic, so every replica serves
 * by the same state and starts from the last one. See docs/router.md.
 */
public final class TrafficRouter implements Component {

    private static final Logger LOG = LoggerFactory.getLogger(TrafficRouter.class);

    private final RouterSettings settings;
    private final KafkaEndpoint kafka;
    private final String routesTopic;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final ReplicationHealth health;
    private final Duration rampTick;
    private final ComponentLifecycle lifecycle = new ComponentLifecycle("router");
    private final Map<String, LiveRoute> routes = new LinkedHashMap<>();
    private Vertx vertx;
    private ProxyServer proxy;
    private RouteControl control;
    private RouteFollower follower;
    private RampDriver driver;
    private int proxyPort;
    private int adminPort;

    /**
     * @param rampTick how often gates are checked and ramp steps considered (1 s in production)
     */
    public TrafficRouter(RouterSettings settings, KafkaEndpoint kafka, String routesTopic, MeterRegistry metrics, Clock clock,
                         ReplicationHealth health, Duration rampTick) {
        this.settings = settings;
        this.kafka = kafka;
        this.routesTopic = routesTopic;
        this.metrics = metrics;
        this.clock = clock;
        this.health = health;
        this.rampTick = rampTick;
        for (RouteSettings route : settings.routes()) {
            routes.put(route.name(), new LiveRoute(route, metrics));
        }
    }

    @Override
    public String name() {
        return "router";
    }

    @Override
    public ComponentState state() {
        return lifecycle.get();
    }

    @Override
    public Optional<String> failure() {
        return lifecycle.failure();
    }

    /** Reads the routes topic to its end, then opens the proxy and admin ports. */
    public void start() {
        lifecycle.moveTo(ComponentState.STARTING);
        try {
            new KafkaTopics(kafka).ensureCompacted(java.util.Set.of(routesTopic));
            control = new RouteControl(kafka, routesTopic, settings.routes().stream()
                    .collect(Collectors.toMap(RouteSettings::name, RouteSettings::initialWeight, (a, b) -> a, LinkedHashMap::new)),
                    clock, "router-admin-api");
            GateCheck gates = new GateCheck(health, clock, metrics);
            driver = new RampDriver(kafka, routesTopic, routesTopic + ".ramp-driver", List.copyOf(routes.values()), gates, control, clock, rampTick);
            follower = new RouteFollower(kafka, routesTopic, routes, metrics, (route, inForce) -> driver.restate(route, inForce));
            follower.start();
            int loops = settings.eventLoops() > 0 ? settings.eventLoops() : Runtime.getRuntime().availableProcessors();
            proxy = new ProxyServer(settings, List.copyOf(routes.values()), clock, loops);
            LOG.info("router: Netty transport {}", proxy.transport());
            try {
                // port 0: one the system picks
                proxyPort = proxy.listen(settings.listen().host(), settings.listen().port());
            } catch (Exception e) {
                throw new IllegalStateException("router: cannot open the proxy port " + settings.listen().host() + ":" + settings.listen().port()
                        + ": " + e.getMessage(), e);
            }
            // the admin API: a few requests a minute, one event loop of its own
            vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
            HttpServer admin = await(new AdminApi(vertx, routes, control, settings.adminToken(), clock,
                    () -> lifecycle.get() == ComponentState.RUNNING, x -> healthJson()).listen(settings.admin().host(), settings.admin().port()),
                    "open the admin port " + settings.admin().host() + ":" + settings.admin().port());
            adminPort = admin.actualPort();
            driver.start();
            lifecycle.moveTo(ComponentState.RUNNING);
            LOG.info("router listening on {}:{} (admin {}:{}), routes: {}", settings.listen().host(), proxyPort, settings.admin().host(),
                    adminPort, routes.values().stream().map(r -> r.name() + "=" + r.state().weight()).toList());
        } catch (RuntimeException e) {
            lifecycle.fail(e.getMessage());
            stop();
            throw e;
        }
    }

    public int proxyPort() {
        return proxyPort;
    }

    public int adminPort() {
        return adminPort;
    }

    /** The state in force for a route on this replica. */
    public RouteState routeState(String route) {
        LiveRoute r = routes.get(route);
        if (r == null) {
            throw new IllegalArgumentException("no route '" + route + "'; routes: " + String.join(", ", routes.keySet()));
        }
        return r.state();
    }

    /** Every route as the admin API describes it (state, per-side window figures, gates, shadow counts). */
    public com.fasterxml.jackson.databind.node.ArrayNode describeRoutes() {
        com.fasterxml.jackson.databind.node.ArrayNode list = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        long now = clock.millis();
        routes.values().forEach(r -> list.add(dev.strangler.router.internal.RouteDescription.of(r, now)));
        return list;
    }

    /** Changes routes through the routes topic, as the admin API does (available once started). */
    public RouteControl control() {
        if (control == null) {
            throw new IllegalStateException("the router is " + lifecycle.get() + "; start it first");
        }
        return control;
    }

    /** Whether this replica drives ramps now (one replica does at a time). */
    public boolean drivesRamps() {
        return driver != null && driver.leader();
    }

    public void stop() {
        if (!lifecycle.tryMoveTo(ComponentState.STOPPING)) {
            return;
        }
        if (driver != null) {
            driver.close();
        }
        if (follower != null) {
            follower.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (vertx != null) {
            try {
                vertx.close().await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("router: Vert.x did not close in 10 s: {}", e.toString());
            }
        }
        if (control != null) {
            control.close();
        }
        lifecycle.tryMoveTo(ComponentState.STOPPED);
    }

    private String healthJson() {
        return "{\"status\":\"" + lifecycle.get() + "\",\"routes\":" + routes.size() + ",\"drivesRamps\":" + drivesRamps() + "}";
    }

    private static <T> T await(io.vertx.core.Future<T> future, String what) {
        try {
            return future.await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("router: cannot " + what + ": " + e.getMessage(), e);
        }
    }
}
