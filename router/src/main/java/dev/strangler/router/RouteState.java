package dev.strangler.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.core.Weight;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The live, shared state of one route: the value of its record on the compacted
 * {@code <prefix>.routes} topic (key: the route name). Every router replica follows the topic and
 * serves by the last accepted record; the CLI, the admin API and the ramp driver change a route only
 * by writing a new record.
 *
 * <p>The JSON form, documented in docs/router.md:
 * <pre>{"weight":"25%","enabled":true,"revision":7,"basedOn":6,"conditional":false,
 *  "ramp":{"state":"RUNNING","target":"50%","step":"5%","every":"PT5M","nextStepAt":"2026-11-22T10:00:00Z","reason":"..."},
 *  "updatedAt":"2026-11-22T09:55:00Z","updatedBy":"cli@host","reason":"cutover to 50%"}</pre>
 *
 * @param weight      share of requests for the service
 * @param enabled     false: the route sends everything to the monolith, whatever its weight
 * @param ramp        the latest ramp, if any
 * @param revision    increases with each accepted record of the route
 * @param conditional true for the ramp driver's steps: accepted only when {@code revision - 1} is
 *                    the revision in force, so a step computed before an operator's rollback can
 *                    never undo it; an operator's command is unconditional (the last one wins)
 * @param updatedAt   when it was written
 * @param updatedBy   who wrote it
 * @param reason      why
 */
public record RouteState(Weight weight, boolean enabled, Optional<Ramp> ramp, long revision, boolean conditional,
                         Instant updatedAt, String updatedBy, String reason) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The state of a route the topic holds nothing for yet. */
    public static RouteState initial(Weight weight) {
        return new RouteState(weight, true, Optional.empty(), 0, false, Instant.EPOCH, "config", "initial weight from the config");
    }

    /** The next unconditional state (an operator's command). */
    public RouteState command(Weight newWeight, boolean newEnabled, Optional<Ramp> newRamp, Instant at, String by, String why) {
        return new RouteState(newWeight, newEnabled, newRamp, revision + 1, false, at, by, why);
    }

    /** The next state, accepted only if this state is still the one in force (the ramp driver's step). */
    public RouteState conditionalStep(Weight newWeight, Optional<Ramp> newRamp, Instant at, String by, String why) {
        return new RouteState(newWeight, enabled, newRamp, revision + 1, true, at, by, why);
    }

    public byte[] toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("weight", weight.toString());
        o.put("enabled", enabled);
        o.put("revision", revision);
        o.put("conditional", conditional);
        ramp.ifPresent(r -> {
            ObjectNode n = o.putObject("ramp");
            n.put("state", r.state().name());
            n.put("target", r.target().toString());
            n.put("step", r.step().toString());
            n.put("every", r.every().toString());
            n.put("nextStepAt", r.nextStepAt().toString());
            n.put("reason", r.reason());
        });
        o.put("updatedAt", updatedAt.toString());
        o.put("updatedBy", updatedBy);
        o.put("reason", reason);
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a record written by {@link #toJson()} or by hand (only {@code weight} is required; a
     * missing revision counts as unconditional).
     *
     * @throws IllegalArgumentException naming the field that is wrong
     */
    public static RouteState fromJson(byte[] value) {
        JsonNode o;
        try {
            o = JSON.readTree(new String(value, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("must be a JSON object such as {\"weight\":\"25%\"}");
        }
        if (!o.hasNonNull("weight")) {
            throw new IllegalArgumentException("has no \"weight\" (e.g. \"25%\" or \"2500bp\")");
        }
        Weight weight = Weight.parse(o.get("weight").asText());
        Optional<Ramp> ramp = Optional.empty();
        JsonNode r = o.get("ramp");
        if (r != null && r.isObject()) {
            try {
                ramp = Optional.of(new Ramp(RampState.valueOf(r.path("state").asText()), Weight.parse(r.path("target").asText()),
                        Weight.parse(r.path("step").asText()), Duration.parse(r.path("every").asText()),
                        Instant.parse(r.path("nextStepAt").asText()), r.path("reason").asText("")));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("has a ramp that cannot be read: " + e.getMessage());
            }
        }
        Instant at;
        try {
            at = o.hasNonNull("updatedAt") ? Instant.parse(o.get("updatedAt").asText()) : Instant.EPOCH;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("has an updatedAt that is not an ISO-8601 instant: " + o.get("updatedAt"));
        }
        return new RouteState(weight, o.path("enabled").asBoolean(true), ramp, o.path("revision").asLong(0),
                o.path("conditional").asBoolean(false), at, o.path("updatedBy").asText("unknown"), o.path("reason").asText(""));
    }
}
