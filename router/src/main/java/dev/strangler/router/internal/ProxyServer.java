package dev.strangler.router.internal;

import dev.strangler.core.config.RouterSettings;
import dev.strangler.router.Side;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.net.ConnectException;
import java.net.URI;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The proxy: one instance per event loop, all sharing the listen port. For each request it picks the
 * route and side, streams the request to that upstream over a keep-alive pool, and streams the answer
 * back (never buffering a whole body, except the capped copy a shadow comparison keeps). Hop-by-hop
 * headers are dropped both ways; {@code X-Forwarded-For/-Proto/-Host} are set; the answer says which
 * route and side served it in {@code X-Strangler-Route} and {@code X-Strangler-Side}.
 */
public final class ProxyServer extends VerticleBase {

    /** RFC 9110 §7.6.1 hop-by-hop headers, lower-case. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
            "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection");
    static final String DEFAULT_ROUTE = "default";

    private final RouterSettings settings;
    private final List<LiveRoute> routes;
    private final int port;
    private final Clock clock;
    private HttpClientAgent client;

    public ProxyServer(RouterSettings settings, List<LiveRoute> routes, int port, Clock clock) {
        this.settings = settings;
        this.routes = List.copyOf(routes);
        this.port = port;
        this.clock = clock;
    }

    @Override
    public Future<?> start() {
        client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setPipelining(false).setTcpNoDelay(true)
                        .setConnectTimeout((int) settings.connectTimeout().toMillis())
                        .setIdleTimeout((int) Math.max(1, settings.upstreamTimeout().toSeconds())),
                new PoolOptions().setHttp1MaxSize(settings.maxConnectionsPerUpstream()).setMaxWaitQueueSize(-1));
        return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setCompressionSupported(false))
                .requestHandler(this::handle)
                .listen(port, settings.listen().host());
    }

    private void handle(HttpServerRequest request) {
        // a request with a body waits (paused) until its upstream request can take the body; one without
        // (most reads) is not paused: pausing and resuming a connection costs two system calls per request
        boolean hasBody = hasBody(request);
        if (hasBody) {
            request.pause();
        }
        long start = System.nanoTime();
        VertxRequestView view = new VertxRequestView(request);
        LiveRoute route = null;
        for (LiveRoute r : routes) {
            if (r.matches(view)) {
                route = r;
                break;
            }
        }
        if (route == null) {
            forward(request, hasBody, null, Side.MONOLITH, settings.defaultUpstream(), start, null);
            return;
        }
        Side side = route.choose(view);
        URI upstream = side == Side.SERVICE ? route.settings().service() : route.settings().monolith();
        if (side == Side.MONOLITH && route.shadows(view.method()) && route.tryStartShadow()) {
            shadow(request, hasBody, route, upstream, start);
            return;
        }
        forward(request, hasBody, route, side, upstream, start, null);
    }

    /** Streams the request to the upstream and its answer back; {@code capture} keeps a capped copy of the answer. */
    private void forward(HttpServerRequest request, boolean hasBody, LiveRoute route, Side side, URI upstream, long start,
                         ShadowCopy capture) {
        RequestOptions options = options(request, upstream);
        client.request(options).compose(upstreamRequest -> {
            forwardHeaders(request, upstreamRequest.headers());
            if (capture != null) {
                return upstreamRequest.send(capture.requestBody);
            }
            if (!hasBody) {
                return upstreamRequest.send();
            }
            if (request.getHeader(HttpHeaders.CONTENT_LENGTH) == null) {
                upstreamRequest.setChunked(true);
            }
            return upstreamRequest.send(request);
        }).onComplete(ar -> {
            if (ar.failed()) {
                fail(request, route, side, upstream, start, ar.cause());
                if (capture != null) {
                    capture.monolithDone(502, new byte[0]);
                }
                return;
            }
            relay(request, ar.result(), route, side, upstream, start, capture);
        });
    }

    private void relay(HttpServerRequest request, HttpClientResponse answer, LiveRoute route, Side side, URI upstream, long start,
                       ShadowCopy capture) {
        HttpServerResponse response = request.response();
        response.setStatusCode(answer.statusCode());
        response.setStatusMessage(answer.statusMessage());
        copyHeaders(answer.headers(), response.headers());
        response.putHeader("X-Strangler-Route", route == null ? DEFAULT_ROUTE : route.name());
        response.putHeader("X-Strangler-Side", side.label());
        boolean bodyless = request.method() == HttpMethod.HEAD || answer.statusCode() == 204 || answer.statusCode() == 304
                || answer.statusCode() < 200;
        if (!bodyless && answer.getHeader(HttpHeaders.CONTENT_LENGTH) == null) {
            response.setChunked(true);
        }
        // each chunk is written when the next one arrives, and the last together with the end: a small answer
        // leaves in one write (head, body, end), a large one still streams holding one chunk at most
        Buffer[] held = new Buffer[1];
        answer.handler(chunk -> {
            if (capture != null) {
                capture.monolithChunk(chunk);
            }
            if (held[0] != null) {
                response.write(held[0]);
            }
            held[0] = chunk;
            if (response.writeQueueFull()) {
                answer.pause();
                response.drainHandler(v -> answer.resume());
            }
        });
        answer.exceptionHandler(t -> {
            response.reset();
            if (route != null) {
                route.side(side).failure("reset", 502, System.nanoTime() - start, clock.millis());
            }
            if (capture != null) {
                capture.monolithDone(502, new byte[0]);
            }
        });
        answer.endHandler(v -> {
            if (held[0] != null) {
                response.end(held[0]);
            } else {
                response.end();
            }
            if (route != null) {
                route.side(side).record(answer.statusCode(), System.nanoTime() - start, clock.millis());
            }
            if (capture != null) {
                capture.monolithDone(answer.statusCode(), capture.monolithBody());
            }
        });
    }

    private void fail(HttpServerRequest request, LiveRoute route, Side side, URI upstream, long start, Throwable cause) {
        boolean timeout = cause instanceof TimeoutException || cause.getClass().getSimpleName().contains("Timeout");
        int status = timeout ? 504 : 502;
        String reason = timeout ? "timeout" : cause instanceof ConnectException || String.valueOf(cause.getMessage()).contains("onnection refused")
                ? "connect" : "error";
        String routeName = route == null ? DEFAULT_ROUTE : route.name();
        if (route != null) {
            route.side(side).failure(reason, status, System.nanoTime() - start, clock.millis());
        }
        if (!request.isEnded()) {
            request.resume(); // a body nobody will read: let it drain
        }
        HttpServerResponse response = request.response();
        if (response.headWritten()) {
            response.reset();
            return;
        }
        String body = "{\"error\":\"" + (timeout ? "upstream timed out" : "upstream unreachable") + "\",\"route\":\"" + routeName
                + "\",\"side\":\"" + side.label() + "\",\"upstream\":\"" + upstream.getHost() + ":" + port(upstream) + "\",\"detail\":\""
                + json(String.valueOf(cause.getMessage())) + "\"}";
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .putHeader("X-Strangler-Route", routeName).putHeader("X-Strangler-Side", side.label()).end(body);
    }

    /** Shadow: buffer the (small, safe-method) request, serve the monolith's answer, send a copy to the service in the background. */
    private void shadow(HttpServerRequest request, boolean hasBody, LiveRoute route, URI monolith, long start) {
        if (!hasBody) {
            shadowWithBody(request, route, monolith, start, Buffer.buffer());
            return;
        }
        Future<Buffer> requestBody = request.body();
        request.resume(); // paused in handle() because it has a body
        requestBody.onComplete(ar -> {
            if (ar.failed()) {
                route.shadowDone("error", Optional.empty());
                request.response().reset();
                return;
            }
            shadowWithBody(request, route, monolith, start, ar.result());
        });
    }

    private void shadowWithBody(HttpServerRequest request, LiveRoute route, URI monolith, long start, Buffer body) {
        ShadowCopy copy = new ShadowCopy(route, request.method().name(), request.uri(), body);
        // the copy goes out at once, beside the monolith's request, so a slow service never holds the client
        forward(request, false, route, Side.MONOLITH, monolith, start, copy);
        RequestOptions options = options(request, route.settings().service());
        client.request(options).compose(r -> {
            forwardHeaders(request, r.headers());
            return r.send(copy.requestBody);
        }).onComplete(sr -> {
            if (sr.failed()) {
                copy.serviceDone(-1, new byte[0]);
                return;
            }
            HttpClientResponse answer = sr.result();
            Buffer serviceBody = Buffer.buffer();
            answer.handler(chunk -> {
                if (serviceBody.length() <= route.settings().shadow().maxBodyBytes()) {
                    serviceBody.appendBuffer(chunk);
                }
            });
            answer.exceptionHandler(t -> copy.serviceDone(-1, new byte[0]));
            answer.endHandler(v -> copy.serviceDone(answer.statusCode(), serviceBody.getBytes()));
        });
    }

    /** The upstream request's target; its headers are written by {@link #forwardHeaders} straight into the request (one copy). */
    private static RequestOptions options(HttpServerRequest request, URI upstream) {
        // timeouts are the client's, per connection: a timer per request costs a system call (timerfd) per request
        return new RequestOptions().setMethod(request.method()).setHost(upstream.getHost()).setPort(port(upstream)).setURI(request.uri());
    }

    /** The client's headers without hop-by-hop ones and Host, with X-Forwarded-For, -Proto and -Host. */
    private static void forwardHeaders(HttpServerRequest request, MultiMap headers) {
        copyHeaders(request.headers(), headers);
        headers.remove(HttpHeaders.HOST);
        String client = request.remoteAddress() == null ? "" : request.remoteAddress().hostAddress();
        String forwardedFor = request.getHeader("X-Forwarded-For");
        headers.set("X-Forwarded-For", forwardedFor == null || forwardedFor.isBlank() ? client : forwardedFor + ", " + client);
        headers.set("X-Forwarded-Proto", request.scheme() == null ? "http" : request.scheme());
        String host = hostHeader(request);
        if (host != null) {
            headers.set("X-Forwarded-Host", host);
        }
    }

    /** The Host header as the client sent it ({@code host[:port]}); Vert.x keeps it as the request's authority. */
    private static String hostHeader(HttpServerRequest request) {
        io.vertx.core.net.HostAndPort authority = request.authority();
        if (authority == null) {
            return request.getHeader(HttpHeaders.HOST);
        }
        return authority.port() > 0 ? authority.host() + ":" + authority.port() : authority.host();
    }

    private static boolean hasBody(HttpServerRequest request) {
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length != null) {
            return !length.trim().equals("0");
        }
        return request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null;
    }

    private static void copyHeaders(MultiMap from, MultiMap to) {
        Set<String> connectionTokens = Set.of();
        if (from.contains(HttpHeaders.CONNECTION)) {
            connectionTokens = new HashSet<>();
            for (String value : from.getAll(HttpHeaders.CONNECTION)) {
                for (String token : value.split(",")) {
                    connectionTokens.add(token.trim().toLowerCase(Locale.ROOT));
                }
            }
        }
        Set<String> dropped = connectionTokens;
        from.forEach((name, value) -> {
            String lower = name.toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(lower) && !dropped.contains(lower)) {
                to.add(name, value);
            }
        });
    }

    private static int port(URI uri) {
        return uri.getPort() > 0 ? uri.getPort() : 80;
    }

    private static String json(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }

    /** The request a shadow copy needs, and the two answers meeting for comparison. */
    private final class ShadowCopy {
        private final LiveRoute route;
        private final String method;
        private final String uri;
        private final Buffer requestBody;
        private final Buffer monolithBody = Buffer.buffer();
        private boolean monolithTooLarge;
        private Integer monolithStatus;
        private byte[] monolithBytes;
        private Integer serviceStatus;
        private byte[] serviceBytes;

        ShadowCopy(LiveRoute route, String method, String uri, Buffer requestBody) {
            this.route = route;
            this.method = method;
            this.uri = uri;
            this.requestBody = requestBody;
        }

        void monolithChunk(Buffer chunk) {
            if (monolithBody.length() + chunk.length() > route.settings().shadow().maxBodyBytes()) {
                monolithTooLarge = true;
            } else {
                monolithBody.appendBuffer(chunk);
            }
        }

        byte[] monolithBody() {
            return monolithBody.getBytes();
        }

        synchronized void monolithDone(int status, byte[] body) {
            if (monolithStatus != null) {
                return;
            }
            monolithStatus = status;
            monolithBytes = body;
            compareWhenBoth();
        }

        synchronized void serviceDone(int status, byte[] body) {
            if (serviceStatus != null) {
                return;
            }
            serviceStatus = status;
            serviceBytes = body;
            compareWhenBoth();
        }

        private void compareWhenBoth() {
            if (monolithStatus == null || serviceStatus == null) {
                return;
            }
            if (serviceStatus < 0 || monolithStatus == 502) {
                route.shadowDone("error", Optional.empty());
                return;
            }
            if (monolithTooLarge || serviceBytes.length > route.settings().shadow().maxBodyBytes()) {
                route.shadowDone("skipped", Optional.empty());
                return;
            }
            Optional<String> difference = route.shadowComparison().difference(monolithStatus, monolithBytes, serviceStatus, serviceBytes);
            route.shadowDone(difference.isPresent() ? "mismatch" : "match", difference.map(d -> new ShadowMismatch(clock.instant(), method,
                    uri, monolithStatus, serviceStatus, d)));
        }
    }

    /** {@link RequestView} over a Vert.x request. */
    private static final class VertxRequestView implements RequestView {
        private final HttpServerRequest request;

        VertxRequestView(HttpServerRequest request) {
            this.request = request;
        }

        @Override
        public String method() {
            return request.method().name();
        }

        @Override
        public String path() {
            String path = request.path();
            return path == null ? "/" : path;
        }

        @Override
        public String host() {
            String host = hostHeader(request);
            if (host == null) {
                return "";
            }
            int colon = host.lastIndexOf(':');
            return (colon > 0 && host.indexOf(']') < colon ? host.substring(0, colon) : host).toLowerCase(Locale.ROOT);
        }

        @Override
        public String header(String name) {
            return request.getHeader(name);
        }

        @Override
        public String cookie(String name) {
            Cookie cookie = request.getCookie(name);
            return cookie == null ? null : cookie.getValue();
        }

        @Override
        public String clientAddress() {
            return request.remoteAddress() == null ? "" : request.remoteAddress().hostAddress();
        }
    }
}
