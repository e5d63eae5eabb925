package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** Reads another Strangler process's dashboard API ({@code /api/status}, {@code /api/history/latest}) over HTTP. */
final class ProcessStatusClient {

    private final HttpClient http;
    private final Duration timeout;

    ProcessStatusClient(Duration timeout) {
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
        this.timeout = timeout;
    }

    /**
     * The JSON at {@code base + path}.
     *
     * @throws IOException when the process does not answer, answers with an error status, or not with JSON
     */
    JsonNode get(URI base, String path) throws IOException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(timeout).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(base.resolve(path) + " answered " + r.statusCode());
            }
            return Json.mapper().readTree(r.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + base.resolve(path), e);
        }
    }

    /** The JSON at {@code base + path}, or empty when the process does not answer. */
    Optional<JsonNode> tryGet(URI base, String path) {
        try {
            return Optional.of(get(base, path));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
