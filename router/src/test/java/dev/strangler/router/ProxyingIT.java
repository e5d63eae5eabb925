package dev.strangler.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strangler.core.MetricNames;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** What a reverse proxy must get right on the wire, on real servers and raw sockets where a client library would hide it. */
class ProxyingIT extends RouterTestBase {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void anUpstreamSilentForTheTimeoutAnswers504AndIsCounted() {
        h.routerSettings = "upstreamTimeout: 500ms";
        TrafficRouter router = h.start(ORDERS);
        h.service.delayMillis.set(5000);
        long start = System.nanoTime();
        HttpResponse<String> r = h.get(router, "/api/orders/1", "X-Canary", "1");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(r.body()).contains("\"error\":\"upstream timed out\"").contains("\"side\":\"service\"");
        assertThat(millis).as("answered after the 500 ms timeout, not the 5 s the service takes").isLessThan(3000);
        assertThat(h.metrics.get(MetricNames.ROUTER_UPSTREAM_FAILURES).tag(MetricNames.TAG_SIDE, "service").tag(MetricNames.TAG_REASON, "timeout")
                .counter().count()).isEqualTo(1.0);
        // the monolith side, answering at once, is not held by the silent service
        assertThat(h.get(router, "/api/orders/2").statusCode()).isEqualTo(200);
    }

    @Test
    void aRequestWaitingForAFreeUpstreamConnectionGivesUpAfterTheTimeout() throws Exception {
        h.routerSettings = "upstreamTimeout: 700ms\nmaxConnectionsPerUpstream: 1\neventLoops: 1";
        TrafficRouter router = h.start(ORDERS);
        // the only connection to the monolith is busy for 3 s with an answer that keeps coming
        var busy = java.util.concurrent.CompletableFuture.supplyAsync(() -> h.get(router, "/api/orders/trickle/3000"));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> h.monolith.requests.get() == 1);
        long start = System.nanoTime();
        HttpResponse<String> waited = h.get(router, "/api/orders/2");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(waited.statusCode()).isEqualTo(504);
        assertThat(waited.body()).contains("no connection to the upstream came free within 700 ms").contains("\"side\":\"monolith\"");
        assertThat(millis).as("given up after the 700 ms timeout, not when the busy answer ended").isBetween(600L, 2500L);
        // the busy answer was not cut, and the pool serves again once it is back
        assertThat(busy.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(h.get(router, "/api/orders/3").statusCode()).isEqualTo(200);
        assertThat(h.monolith.requests.get()).isEqualTo(2);
    }

    @Test
    void anUpstreamNamedByHostNameIsResolvedAndReached() {
        // resolved by Netty's asynchronous resolver (here from the hosts file), not on the event loop by the JDK
        TrafficRouter router = h.start(ORDERS.replace("{{monolith}}", "http://localhost:" + h.monolith.port()));
        HttpResponse<String> r = h.get(router, "/api/orders/1");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("X-Strangler-Side")).hasValue("monolith");
        assertThat(r.body()).contains("\"host\":\"localhost:" + h.monolith.port() + "\"");
    }

    @Test
    void anUpstreamClosingIdleConnectionsCostsNoFailedRequest() throws Exception {
        Upstream closing = new Upstream(h.vertx, "monolith", new HttpServerOptions().setIdleTimeout(1));
        try {
            TrafficRouter router = h.start(ORDERS.replace("{{monolith}}", closing.url()));
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 5; i++) {
                    assertThat(h.get(router, "/api/orders/" + i).statusCode()).isEqualTo(200);
                }
                // the upstream closes the kept-alive connections after 1 s idle
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> closing.openConnections.get() == 0);
            }
            assertThat(h.metrics.find(MetricNames.ROUTER_UPSTREAM_FAILURES).counters()).allSatisfy(c -> assertThat(c.count()).isZero());
            assertThat(closing.requests.get()).isEqualTo(15);
        } finally {
            closing.close();
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInTheirOrder() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        try (Socket socket = new Socket("127.0.0.1", router.proxyPort())) {
            socket.setSoTimeout(10_000);
            StringBuilder requests = new StringBuilder();
            for (int i = 1; i <= 3; i++) {
                requests.append("GET /api/orders/").append(i).append(" HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            }
            requests.append("HEAD /api/orders/4 HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            requests.append("GET /api/orders/5 HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            socket.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            List<String> paths = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                RawResponse r = RawResponse.read(in, i == 4);
                assertThat(r.status).isEqualTo(200);
                assertThat(r.headers).containsKey("x-strangler-route");
                paths.add(i == 4 ? "(head)" : JSON.readTree(r.body).path("path").asText());
            }
            assertThat(paths).containsExactly("/api/orders/1", "/api/orders/2", "/api/orders/3", "(head)", "/api/orders/5");
        }
    }

    @Test
    void anHttp10ClientGetsItsAnswerAndTheConnectionEnds() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        // read to the end of the stream: the router closes the connection after the answer
        String all = sendAndReadToEnd(router, "GET /api/orders/1 HTTP/1.0\r\nHost: shop.example\r\n\r\n");
        assertThat(all).startsWith("HTTP/1.1 200").contains("\"side\":\"monolith\"");
        assertThat(all.toLowerCase(Locale.ROOT)).doesNotContain("transfer-encoding: chunked");
    }

    @Test
    void aRequestBodyOfUnknownLengthReachesTheUpstreamWhole() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        byte[] body = "0123456789abcdef".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII); // 1 MiB
        HttpResponse<String> r = h.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.proxyPort() + "/api/orders"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode echo = JSON.readTree(r.body());
        assertThat(echo.path("headers").path("transfer-encoding").asText()).isEqualTo("chunked");
        assertThat(echo.path("body").asText()).hasSize(body.length).isEqualTo(new String(body, StandardCharsets.US_ASCII));
    }

    @Test
    void aMalformedRequestAnswers400AndNoUpstreamSeesIt() throws Exception {
        TrafficRouter router = h.start(ORDERS);
        String all = sendAndReadToEnd(router, "GET /api/orders/1 HTTP/1.1\r\nHost shop.example\r\n\r\n");
        assertThat(all).startsWith("HTTP/1.1 400").contains("\"error\":\"bad request\"");
        assertThat(h.monolith.requests.get() + h.service.requests.get()).isZero();
    }

    /** Writes raw bytes to the router and reads its answer until it closes the connection. */
    private static String sendAndReadToEnd(TrafficRouter router, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", router.proxyPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** One HTTP/1.1 response read off a socket: status, lower-case headers, body (by Content-Length, or chunked). */
    private record RawResponse(int status, java.util.Map<String, String> headers, byte[] body) {

        static RawResponse read(InputStream in, boolean head) throws IOException {
            String statusLine = line(in);
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            java.util.Map<String, String> headers = new java.util.HashMap<>();
            String line;
            while (!(line = line(in)).isEmpty()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            if (head) {
                return new RawResponse(status, headers, new byte[0]);
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (headers.containsKey("content-length")) {
                body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
            } else {
                int size;
                while ((size = Integer.parseInt(line(in).trim(), 16)) > 0) {
                    body.write(in.readNBytes(size));
                    line(in);
                }
                line(in);
            }
            return new RawResponse(status, headers, body.toByteArray());
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    b.append((char) c);
                }
            }
            return b.toString();
        }
    }
}
