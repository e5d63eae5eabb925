package dev.strangler.router.internal;

import java.time.Instant;

/**
 * One request whose service answer differed from the monolith's.
 *
 * @param difference where they first differ: the status, or the JSON path and both values, or "body bytes differ"
 */
public record ShadowMismatch(Instant at, String method, String uri, int monolithStatus, int serviceStatus, String difference) {
}
