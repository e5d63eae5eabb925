package dev.strangler.router.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Durations;
import dev.strangler.core.Weight;
import dev.strangler.core.config.Secret;
import dev.strangler.router.RouteControl;
import dev.strangler.router.RouteState;
import dev.strangler.router.Side;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The router's admin API on its own port. Every path but {@code /health} needs
 * {@code Authorization: Bearer <router.adminToken>}; with no token configured every such call is
 * refused. Changes go through {@link RouteControl} to the routes topic, so every replica takes them;
 * the call answers once this replica applies the change (or after 5 s with the written state).
 * Paths and bodies are listed in docs/router.md.
 */
public final class AdminApi {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Vertx vertx;
    private final Map<String, LiveRoute> routes;
    private final RouteControl control;
    private final Secret token;
    private final Clock clock;
    private final BooleanSupplier healthy;
    private final Function<String, String> health;

    public AdminApi(Vertx vertx, Map<String, LiveRoute> routes, RouteControl control, Secret token, Clock clock, BooleanSupplier healthy,
                    Function<String, String> health) {
        this.vertx = vertx;
        this.routes = routes;
        this.control = control;
        this.token = token;
        this.clock = clock;
        this.healthy = healthy;
        this.health = health;
    }

    public Future<HttpServer> listen(String host, int port) {
        Router router = Router.router(vertx);
        router.get("/health").handler(ctx -> ctx.response().setStatusCode(healthy.getAsBoolean() ? 200 : 503)
                .putHeader("Content-Type", "application/json").end(health.apply("")));
        router.route().handler(this::authorize);
        router.route().handler(BodyHandler.create().setBodyLimit(64 * 1024));
        router.get("/routes").handler(ctx -> {
            ArrayNode list = JSON.createArrayNode();
            routes.values().forEach(r -> list.add(describe(r)));
            ok(ctx, list);
        });
        router.get("/routes/:name").handler(ctx -> withRoute(ctx, r -> ok(ctx, describe(r))));
        router.get("/routes/:name/shadow").handler(ctx -> withRoute(ctx, r -> {
            ObjectNode o = JSON.createObjectNode();
            o.set("counts", JSON.valueToTree(r.shadowCounts()));
            ArrayNode samples = o.putArray("mismatches");
            r.mismatches().forEach(m -> samples.addObject().put("at", m.at().toString()).put("method", m.method()).put("uri", m.uri())
                    .put("monolithStatus", m.monolithStatus()).put("serviceStatus", m.serviceStatus()).put("difference", m.difference()));
            ok(ctx, o);
        }));
        router.put("/routes/:name/weight").blockingHandler(ctx -> change(ctx, (name, body) ->
                control.setWeight(name, Weight.parse(required(body, "weight")), body.path("reason").asText("set through the admin API"))));
        router.post("/routes/:name/rollback").blockingHandler(ctx -> change(ctx, (name, body) ->
                control.rollback(name, body.path("reason").asText("requested through the admin API"))));
        router.post("/routes/:name/enable").blockingHandler(ctx -> change(ctx, (name, body) -> control.setEnabled(name, true)));
        router.post("/routes/:name/disable").blockingHandler(ctx -> change(ctx, (name, body) -> control.setEnabled(name, false)));
        router.post("/routes/:name/ramp").blockingHandler(ctx -> change(ctx, (name, body) -> control.startRamp(name,
                Weight.parse(required(body, "to")), Weight.parse(body.path("step").asText("100%")),
                duration(body.path("every").asText("0s")))));
        router.post("/routes/:name/ramp/pause").blockingHandler(ctx -> change(ctx, (name, body) ->
                control.pauseRamp(name, body.path("reason").asText("paused through the admin API"))));
        router.post("/routes/:name/ramp/resume").blockingHandler(ctx -> change(ctx, (name, body) -> control.resumeRamp(name)));
        router.post("/routes/:name/ramp/abort").blockingHandler(ctx -> change(ctx, (name, body) -> control.abortRamp(name)));
        return vertx.createHttpServer().requestHandler(router).listen(port, host);
    }

    private void authorize(RoutingContext ctx) {
        String expected = token.reveal();
        if (expected.isEmpty()) {
            error(ctx, 403, "the admin API is disabled: set router.adminToken (e.g. adminToken: ${STRANGLER_ADMIN_TOKEN})");
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        String given = header != null && header.startsWith("Bearer ") ? header.substring(7).trim() : "";
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            error(ctx, 401, header == null ? "send Authorization: Bearer <router.adminToken>" : "the bearer token is not the admin token");
            return;
        }
        ctx.next();
    }

    private void withRoute(RoutingContext ctx, java.util.function.Consumer<LiveRoute> then) {
        LiveRoute route = routes.get(ctx.pathParam("name"));
        if (route == null) {
            error(ctx, 404, "no route '" + ctx.pathParam("name") + "'; routes: " + String.join(", ", routes.keySet()));
            return;
        }
        then.accept(route);
    }

    private interface Change {
        RouteState apply(String route, JsonNode body);
    }

    private void change(RoutingContext ctx, Change change) {
        withRoute(ctx, route -> {
            JsonNode body;
            try {
                String text = ctx.body().asString();
                body = text == null || text.isBlank() ? JSON.createObjectNode() : JSON.readTree(text);
            } catch (IOException e) {
                error(ctx, 400, "the body is not JSON: " + e.getMessage());
                return;
            }
            RouteState written;
            try {
                written = change.apply(route.name(), body);
            } catch (IllegalArgumentException e) {
                error(ctx, 400, e.getMessage());
                return;
            } catch (IllegalStateException e) {
                error(ctx, 409, e.getMessage());
                return;
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (route.state().revision() != written.revision() && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
            }
            ok(ctx, describe(route));
        });
    }

    private ObjectNode describe(LiveRoute r) {
        return RouteDescription.of(r, clock.millis());
    }

    private static String required(JsonNode body, String field) {
        if (!body.hasNonNull(field)) {
            throw new IllegalArgumentException("the body needs \"" + field + "\", e.g. {\"" + field + "\":\"25%\"}");
        }
        return body.get(field).asText();
    }

    private static Duration duration(String text) {
        return Durations.parse(text).orElseThrow(() -> new IllegalArgumentException(
                "\"every\" must be a duration such as 30s or 5m, not '" + text + "'"));
    }

    private static void ok(RoutingContext ctx, JsonNode body) {
        ctx.response().putHeader("Content-Type", "application/json").end(body.toPrettyString());
    }

    private static void error(RoutingContext ctx, int status, String message) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                .end(JSON.createObjectNode().put("error", message).toString());
    }
}
