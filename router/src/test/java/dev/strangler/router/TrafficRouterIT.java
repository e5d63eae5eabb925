package dev.strangler.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strangler.core.MetricNames;
import dev.strangler.core.TableId;
import dev.strangler.core.Weight;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The router on real HTTP servers on loopback, a real HTTP client and a real broker. */
class TrafficRouterIT extends RouterTestBase {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void weightsAreHonouredAndEachUserStaysOnOneSide() {
        TrafficRouter router = h.start(ORDERS);
        h.adminJson(router, "PUT", "/routes/orders-read/weight", "{\"weight\":\"30%\"}");
        int onService = 0;
        int users = 1500;
        Map<String, String> sideOf = new HashMap<>();
        for (int i = 0; i < users; i++) {
            String side = h.sideFor(router, "/api/orders/" + i, "X-User-Id", "user-" + i);
            sideOf.put("user-" + i, side);
            if (side.equals("service")) {
                onService++;
            }
        }
        // binomial sd at n = 1500, p = 0.3 is 1.2%; 4.5 sd either side
        assertThat((double) onService / users).isBetween(0.245, 0.355);
        for (int i = 0; i < 200; i++) {
            assertThat(h.sideFor(router, "/api/orders/x", "X-User-Id", "user-" + i)).isEqualTo(sideOf.get("user-" + i));
        }
        // raising the weight only moves users from the monolith to the service
        h.adminJson(router, "PUT", "/routes/orders-read/weight", "{\"weight\":\"60%\"}");
        for (int i = 0; i < 300; i++) {
            if (sideOf.get("user-" + i).equals("service")) {
                assertThat(h.sideFor(router, "/api/orders/x", "X-User-Id", "user-" + i)).as("user-" + i).isEqualTo("service");
            }
        }
        assertThat(h.sideFor(router, "/api/customers/1", "X-User-Id", "user-1")).as("no route: the default upstream").isEqualTo("monolith");
        assertThat(h.sideFor(router, "/api/ordersX", "X-User-Id", "user-1")).as("prefix matches whole segments").isEqualTo("monolith");
    }

    @Test
    void canaryAndExcludeCohortsOverrideTheWeight() {
        TrafficRouter router = h.start(ORDERS);
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "u1")).isEqualTo("monolith");
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "u1", "X-Canary", "1")).isEqualTo("service");
        h.adminJson(router, "PUT", "/routes/orders-read/weight", "{\"weight\":\"100%\"}");
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "u1")).isEqualTo("service");
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "vip-1")).as("excluded user").isEqualTo("monolith");
        h.adminJson(router, "POST", "/routes/orders-read/disable", null);
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "u1", "X-Canary", "1")).as("disabled route").isEqualTo("monolith");
    }

    @Test
    void blueGreenSwitchesInOneStepAndRollbackReturnsAtOnce() {
        TrafficRouter router = h.start(ORDERS);
        JsonNode state = h.adminJson(router, "POST", "/routes/orders-read/ramp", "{\"to\":\"100%\"}");
        assertThat(state.path("weight").asText()).isEqualTo("100%");
        assertThat(state.path("ramp").path("state").asText()).isEqualTo("DONE");
        for (int i = 0; i < 50; i++) {
            assertThat(h.sideFor(router, "/api/orders/" + i, "X-User-Id", "u" + i)).isEqualTo("service");
        }
        state = h.adminJson(router, "POST", "/routes/orders-read/rollback", "{\"reason\":\"test\"}");
        assertThat(state.path("weight").asText()).isEqualTo("0%");
        for (int i = 0; i < 50; i++) {
            assertThat(h.sideFor(router, "/api/orders/" + i, "X-User-Id", "u" + i)).isEqualTo("monolith");
        }
        assertThat(h.metrics.get(MetricNames.ROUTER_ROLLBACKS).tag(MetricNames.TAG_ROUTE, "orders-read").counter().count()).isEqualTo(1.0);
    }

    @Test
    void shadowCountsAMismatchAndNeverDelaysTheClient() {
        TrafficRouter router = h.start("""
                orders-read:
                  match: {pathPrefix: /api/orders}
                  monolith: {{monolith}}
                  service: {{service}}
                  shadow: {enabled: true, ignoreFields: [headers, side]}
                """);
        h.service.delayMillis.set(2000);
        h.service.extraField = "only the service says this";
        long start = System.nanoTime();
        HttpResponse<String> r = h.get(router, "/api/orders/7");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("X-Strangler-Side")).contains("monolith");
        assertThat(millis).as("the monolith's answer does not wait for the 2 s service").isLessThan(1500);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(h.adminJson(router, "GET", "/routes/orders-read/shadow", null).path("counts").path("mismatch").asLong()).isEqualTo(1));
        JsonNode sample = h.adminJson(router, "GET", "/routes/orders-read/shadow", null).path("mismatches").get(0);
        assertThat(sample.path("uri").asText()).isEqualTo("/api/orders/7");
        assertThat(sample.path("difference").asText()).isEqualTo("$.extra: missing vs \"only the service says this\"");

        h.service.delayMillis.set(0);
        h.service.extraField = "";
        h.get(router, "/api/orders/8");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(h.adminJson(router, "GET", "/routes/orders-read/shadow", null).path("counts").path("match").asLong()).isEqualTo(1));
        // unsafe methods are not copied unless allowed
        int before = h.service.requests.get();
        h.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.proxyPort() + "/api/orders"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"new\":1}")).build());
        h.get(router, "/api/orders/9");
        await().atMost(Duration.ofSeconds(10)).until(() -> h.service.requests.get() == before + 1);
    }

    @Test
    void aRampPausesWhenTheServiceFailsAndSaysWhy() {
        TrafficRouter router = h.start(ORDERS + "  gates: {window: 30s, minRequests: 5}\n");
        JsonNode state = h.adminJson(router, "POST", "/routes/orders-read/ramp", "{\"to\":\"50%\",\"step\":\"20%\",\"every\":\"1h\"}");
        assertThat(state.path("weight").asText()).isEqualTo("20%");
        assertThat(state.path("ramp").path("state").asText()).isEqualTo("RUNNING");
        h.service.status.set(500);
        for (int i = 0; i < 200; i++) {
            h.get(router, "/api/orders/" + i, "X-User-Id", "user-" + i);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(router.routeState("orders-read").ramp().orElseThrow().state()).isEqualTo(RampState.PAUSED));
        RouteState paused = router.routeState("orders-read");
        assertThat(paused.weight()).isEqualTo(Weight.parse("20%"));
        assertThat(paused.ramp().orElseThrow().reason()).startsWith("gate failed: error-rate: service 100.00%");
    }

    @Test
    void aRampRollsBackWhenConfiguredTo() {
        TrafficRouter router = h.start(ORDERS + "  gates: {window: 30s, minRequests: 5, onFailure: rollback}\n");
        h.adminJson(router, "POST", "/routes/orders-read/ramp", "{\"to\":\"50%\",\"step\":\"20%\",\"every\":\"1h\"}");
        h.service.status.set(503);
        for (int i = 0; i < 200; i++) {
            h.get(router, "/api/orders/" + i, "X-User-Id", "user-" + i);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(router.routeState("orders-read").ramp().orElseThrow().state()).isEqualTo(RampState.ROLLED_BACK));
        assertThat(router.routeState("orders-read").weight()).isEqualTo(Weight.MONOLITH_ONLY);
        assertThat(h.sideFor(router, "/api/orders/1", "X-User-Id", "user-1")).isEqualTo("monolith");
    }

    @Test
    void aHealthyRampStepsToItsTargetAndWaitsForLagAndConsistency() {
        Map<TableId, Duration> lag = new java.util.concurrent.ConcurrentHashMap<>(Map.of(TableId.parse("public.orders"), Duration.ofSeconds(60)));
        ReplicationHealth health = new ReplicationHealth() {
            @Override
            public Optional<Duration> lag(TableId table) {
                return Optional.ofNullable(lag.get(table));
            }

            @Override
            public Optional<Boolean> consistent(TableId table) {
                return Optional.of(true);
            }
        };
        TrafficRouter router = h.start(ORDERS + "  tables: [public.orders]\n  gates: {maxLag: 5s}\n", new SimpleMeterRegistry(), health);
        h.adminJson(router, "POST", "/routes/orders-read/ramp", "{\"to\":\"30%\",\"step\":\"10%\",\"every\":\"100ms\"}");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(router.routeState("orders-read").ramp().orElseThrow().state()).isEqualTo(RampState.PAUSED));
        assertThat(router.routeState("orders-read").ramp().orElseThrow().reason()).contains("replication-lag: public.orders 60000 ms");
        assertThat(router.routeState("orders-read").weight()).isEqualTo(Weight.parse("10%"));
        lag.put(TableId.parse("public.orders"), Duration.ofMillis(20));
        h.adminJson(router, "POST", "/routes/orders-read/ramp/resume", null);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(router.routeState("orders-read").ramp().orElseThrow().state()).isEqualTo(RampState.DONE));
        assertThat(router.routeState("orders-read").weight()).isEqualTo(Weight.parse("30%"));
    }

    @Test
    void rollbackReachesASecondReplicaThroughTheTopic() {
        TrafficRouter a = h.start(ORDERS);
        TrafficRouter b = h.start(ORDERS, new SimpleMeterRegistry(), ReplicationHealth.UNKNOWN);
        h.adminJson(a, "PUT", "/routes/orders-read/weight", "{\"weight\":\"50%\"}");
        await().atMost(Duration.ofSeconds(1)).until(() -> b.routeState("orders-read").weight().equals(Weight.parse("50%")));
        try (RouteControl cli = new RouteControl(h.endpoint(), h.routesTopic(), Map.of("orders-read", Weight.MONOLITH_ONLY),
                Clock.systemUTC(), "cli@test")) {
            cli.rollback("orders-read", "bad day");
        }
        await().atMost(Duration.ofSeconds(1)).until(() -> a.routeState("orders-read").weight().equals(Weight.MONOLITH_ONLY)
                && b.routeState("orders-read").weight().equals(Weight.MONOLITH_ONLY));
        assertThat(b.routeState("orders-read").reason()).isEqualTo("rollback: bad day");
        // exactly one replica drives ramps
        await().atMost(Duration.ofSeconds(15)).until(() -> a.drivesRamps() ^ b.drivesRamps());
    }

    @Test
    void aRouterStartsFromTheLastStateOnTheTopic() {
        TrafficRouter first = h.start(ORDERS);
        h.adminJson(first, "PUT", "/routes/orders-read/weight", "{\"weight\":\"40%\"}");
        first.stop();
        TrafficRouter second = h.start(ORDERS, new SimpleMeterRegistry(), ReplicationHealth.UNKNOWN);
        assertThat(second.routeState("orders-read").weight()).isEqualTo(Weight.parse("40%"));
    }

    @Test
    void anInvalidRecordOnTheTopicIsRejectedAndTheWeightStays() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        h.adminJson(router, "PUT", "/routes/orders-read/weight", "{\"weight\":\"25%\"}");
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(h.endpoint().clientConfig(),
                new org.apache.kafka.common.serialization.StringSerializer(), new org.apache.kafka.common.serialization.StringSerializer())) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(h.routesTopic(), "orders-read", "{\"weight\":\"250%\"}")).get();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(h.routesTopic(), "orders-read", "{\"weight\":\"35%\"}")).get();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> router.routeState("orders-read").weight().equals(Weight.parse("35%")));
        assertThat(h.metrics.get(MetricNames.ROUTER_STATE_REJECTED).tag(MetricNames.TAG_REASON, "invalid").counter().count()).isEqualTo(1.0);
    }

    @Test
    void theAdminApiRequiresTheToken() {
        TrafficRouter router = h.start(ORDERS);
        assertThat(h.admin(router, "GET", "/routes", null, null).statusCode()).isEqualTo(401);
        assertThat(h.admin(router, "POST", "/routes/orders-read/rollback", null, "wrong").statusCode()).isEqualTo(401);
        assertThat(h.admin(router, "GET", "/routes", null, RouterHarness.TOKEN).statusCode()).isEqualTo(200);
        assertThat(h.admin(router, "GET", "/health", null, null).statusCode()).isEqualTo(200);
        HttpResponse<String> bad = h.admin(router, "PUT", "/routes/orders-read/weight", "{\"weight\":\"lots\"}", RouterHarness.TOKEN);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("'lots'");
        assertThat(h.admin(router, "PUT", "/routes/nope/weight", "{\"weight\":\"1%\"}", RouterHarness.TOKEN).body())
                .contains("no route 'nope'; routes: orders-read");
    }

    @Test
    void anUpstreamThatIsDownAnswers502AndIsCounted() {
        TrafficRouter router = h.start(ORDERS.replace("{{service}}", "http://127.0.0.1:1"));
        HttpResponse<String> r = h.get(router, "/api/orders/1", "X-Canary", "1");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("\"error\":\"upstream unreachable\"").contains("\"route\":\"orders-read\"").contains("\"side\":\"service\"")
                .contains("127.0.0.1:1");
        assertThat(h.metrics.get(MetricNames.ROUTER_UPSTREAM_FAILURES).tag(MetricNames.TAG_SIDE, "service").counter().count()).isEqualTo(1.0);
        assertThat(h.metrics.get(MetricNames.ROUTER_REQUESTS).tag(MetricNames.TAG_SIDE, "service").tag(MetricNames.TAG_STATUS_CLASS, "5xx")
                .counter().count()).isEqualTo(1.0);
    }

    @Test
    void aShadowedRequestWhoseUpstreamsAreDownStillGetsItsAnswer() {
        TrafficRouter router = h.start("""
                orders-read:
                  match: {pathPrefix: /api/orders}
                  monolith: http://127.0.0.1:1
                  service: http://127.0.0.1:1
                  shadow: {enabled: true}
                """);
        HttpResponse<String> r = h.get(router, "/api/orders/1");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("\"side\":\"monolith\"");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(h.adminJson(router, "GET", "/routes/orders-read/shadow", null).path("counts").path("error").asLong()).isEqualTo(1));
    }

    @Test
    void proxyingStreamsBodiesAndHandlesHeadersAsAProxyShould() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        HttpResponse<String> echo = h.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.proxyPort() + "/api/orders?x=1"))
                .header("X-Custom", "kept").header("X-Forwarded-For", "10.0.0.1").header("X-User-Id", "u1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"item\":42}")).build());
        JsonNode body = JSON.readTree(echo.body());
        assertThat(body.path("method").asText()).isEqualTo("POST");
        assertThat(body.path("body").asText()).isEqualTo("{\"item\":42}");
        JsonNode headers = body.path("headers");
        assertThat(headers.path("x-custom").asText()).isEqualTo("kept");
        assertThat(headers.path("x-forwarded-for").asText()).isEqualTo("10.0.0.1, 127.0.0.1");
        assertThat(headers.path("x-forwarded-host").asText()).startsWith("127.0.0.1:");
        assertThat(headers.has("connection")).as("hop-by-hop headers stay on their hop").isFalse();
        assertThat(echo.headers().firstValue("Keep-Alive")).as("upstream's Keep-Alive is not passed on").isEmpty();
        assertThat(echo.headers().firstValue("X-Side")).contains("monolith");

        long size = 64L * 1024 * 1024;
        HttpResponse<java.io.InputStream> big = h.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.proxyPort() + "/api/orders/big/" + size))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        long read;
        try (var in = big.body()) {
            read = in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        assertThat(big.statusCode()).isEqualTo(200);
        assertThat(big.headers().firstValue("X-Strangler-Route")).contains("orders-read");
        assertThat(read).isEqualTo(size);
    }
}
