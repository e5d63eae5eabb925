package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strangler.core.Component;
import dev.strangler.core.Json;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * Serves {@code GET /health} (JSON, per component state; 200 when all are healthy, 503 otherwise; and the
 * progress of a copy of existing rows, with its rate and ETA) and
 * {@code GET /metrics} (Prometheus text format) for one Strangler process.
 */
public final class ObservabilityServer implements AutoCloseable {

    private final HttpServer server;

    public ObservabilityServer(String host, int port, PrometheusMeterRegistry registry, Supplier<List<Component>> components) {
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve /health and /metrics on " + host + ":" + port
                    + " (" + e.getMessage() + "); set http.port to a free port, or 0 for any", e);
        }
        server.createContext("/metrics", exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        CopyProgress copy = new CopyProgress(registry, System::nanoTime);
        server.createContext("/health", exchange -> {
            ObjectNode body = Json.mapper().createObjectNode();
            ObjectNode parts = body.putObject("components");
            boolean healthy = true;
            for (Component c : components.get()) {
                ObjectNode node = parts.putObject(c.name());
                node.put("state", c.state().name());
                c.failure().ifPresent(f -> node.put("failure", f));
                healthy &= c.state().healthy();
            }
            body.put("status", healthy ? "UP" : "DOWN");
            // the copy of existing rows: a running copy is healthy, its progress and ETA are here
            body.set("copy", copy.toJson());
            respond(exchange, healthy ? 200 : 503, "application/json", body.toPrettyString());
        });
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "strangler-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** Serves the dashboard page and its API beside /health and /metrics. */
    void serve(Dashboard dashboard) {
        dashboard.register(server);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        if (!"GET".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(405, -1);
            exchange.close();
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
