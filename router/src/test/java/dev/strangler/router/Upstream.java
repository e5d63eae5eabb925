package dev.strangler.router;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real HTTP server on loopback standing in for the monolith or a service: answers JSON that names
 * its side and echoes the request's headers and body; its status, delay and a body override can be
 * changed while a test runs. {@code .../big/<bytes>} streams a chunked body of that size; {@code .../trickle/<ms>} answers
 * a byte every 100 ms for that long.
 */
final class Upstream implements AutoCloseable {

    final String side;
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicLong delayMillis = new AtomicLong();
    volatile String extraField = "";
    final AtomicInteger requests = new AtomicInteger();
    /** Connections open now (a proxy's kept-alive ones included). */
    final AtomicInteger openConnections = new AtomicInteger();
    private final HttpServer server;

    Upstream(Vertx vertx, String side) {
        this(vertx, side, new io.vertx.core.http.HttpServerOptions());
    }

    /** @param options e.g. an idle timeout after which the server closes a kept-alive connection */
    Upstream(Vertx vertx, String side, io.vertx.core.http.HttpServerOptions options) {
        this.side = side;
        try {
            this.server = vertx.createHttpServer(options).requestHandler(this::handle).connectionHandler(connection -> {
                openConnections.incrementAndGet();
                connection.closeHandler(v -> openConnections.decrementAndGet());
            }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    int port() {
        return server.actualPort();
    }

    String url() {
        return "http://127.0.0.1:" + port();
    }

    private void handle(HttpServerRequest request) {
        requests.incrementAndGet();
        int big = request.path().indexOf("/big/");
        if (big >= 0) {
            long size = Long.parseLong(request.path().substring(big + 5));
            request.response().setChunked(true).putHeader("X-Side", side);
            streamBig(request, size);
            return;
        }
        int trickle = request.path().indexOf("/trickle/");
        if (trickle >= 0) {
            // an answer that is never silent for long but takes this many ms: a byte every 100 ms
            long until = System.nanoTime() + Long.parseLong(request.path().substring(trickle + 9)) * 1_000_000;
            var response = request.response().setChunked(true).putHeader("X-Side", side);
            Vertx.currentContext().owner().setPeriodic(100, timer -> {
                if (System.nanoTime() >= until) {
                    Vertx.currentContext().owner().cancelTimer(timer);
                    response.end("x");
                } else {
                    response.write("x");
                }
            });
            return;
        }
        request.body().onSuccess(body -> {
            JsonObject headers = new JsonObject();
            request.headers().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v));
            JsonObject answer = new JsonObject().put("side", side).put("path", request.path()).put("method", request.method().name())
                    .put("headers", headers).put("body", body.toString());
            if (!extraField.isEmpty()) {
                answer.put("extra", extraField);
            }
            long delay = delayMillis.get();
            Runnable respond = () -> request.response().setStatusCode(status.get()).putHeader("Content-Type", "application/json")
                    .putHeader("X-Side", side).putHeader("Keep-Alive", "timeout=5").end(answer.encode());
            if (delay > 0) {
                request.response(); // keep the connection
                Vertx.currentContext().owner().setTimer(delay, t -> respond.run());
            } else {
                respond.run();
            }
        });
    }

    private void streamBig(HttpServerRequest request, long remaining) {
        var response = request.response();
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'x');
        long left = remaining;
        while (left > 0 && !response.writeQueueFull()) {
            int n = (int) Math.min(chunk.length, left);
            response.write(Buffer.buffer(n == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, n)));
            left -= n;
        }
        if (left == 0) {
            response.end();
            return;
        }
        long rest = left;
        response.drainHandler(v -> streamBig(request, rest));
    }

    @Override
    public void close() {
        try {
            server.close().await(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing a test server
        }
    }
}
