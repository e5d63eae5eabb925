package dev.strangler.router;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Weight;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Changes routes by writing their next state to the compacted routes topic, which every router
 * replica follows. The CLI ({@code strangler rollback}, {@code cutover}, {@code weight}, {@code ramp})
 * and the admin API both use it; a plain Kafka producer writing the JSON of {@link RouteState} works
 * the same.
 *
 * <p>Each command reads the topic to its end first, so it builds on the latest state, and returns the
 * state it wrote once Kafka acknowledged it.
 */
public final class RouteControl implements AutoCloseable {

    private final KafkaEndpoint kafka;
    private final String topic;
    private final Map<String, Weight> initialWeights;
    private final Clock clock;
    private final String actor;
    private final KafkaProducer<String, byte[]> producer;

    /**
     * @param initialWeights every route of the config with its configured weight
     * @param actor          who is writing, recorded in each state ({@code cli@host}, {@code admin-api})
     */
    public RouteControl(KafkaEndpoint kafka, String topic, Map<String, Weight> initialWeights, Clock clock, String actor) {
        this.kafka = kafka;
        this.topic = topic;
        this.initialWeights = Map.copyOf(initialWeights);
        this.clock = clock;
        this.actor = actor;
        Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-route-control", "acks", "all",
                "enable.idempotence", "true"));
        this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    /** The state in force for every configured route (the configured weight where the topic has none). */
    public Map<String, RouteState> read() {
        Map<String, RouteState> states = new LinkedHashMap<>();
        initialWeights.forEach((name, weight) -> states.put(name, RouteState.initial(weight)));
        new KafkaTopics(kafka).readToEnd(topic, record -> {
            if (record.key() == null || record.value() == null) {
                return;
            }
            String name = new String(record.key(), StandardCharsets.UTF_8);
            try {
                RouteState incoming = RouteState.fromJson(record.value());
                RouteState current = states.get(name);
                if (accepts(current, incoming)) {
                    states.put(name, incoming);
                }
            } catch (IllegalArgumentException e) {
                // an unreadable record never takes effect; the router logs and counts it as it follows
            }
        });
        return states;
    }

    /**
     * Whether a record takes effect over the state in force: unconditional records (operators) always,
     * conditional ones (ramp steps) only when they were computed from the state in force.
     */
    public static boolean accepts(RouteState current, RouteState incoming) {
        return current == null || !incoming.conditional() || incoming.revision() == current.revision() + 1;
    }

    /** Sets the weight at once; a running ramp is aborted (an operator's weight overrides it). */
    public RouteState setWeight(String route, Weight weight, String why) {
        RouteState current = current(route);
        return publish(route, current.command(weight, current.enabled(), endRamp(current, RampState.ABORTED, "weight set by hand"),
                clock.instant(), actor, why));
    }

    /** Weight 0 at once, on every replica; a running ramp ends as ROLLED_BACK. */
    public RouteState rollback(String route, String why) {
        RouteState current = current(route);
        return publish(route, current.command(Weight.MONOLITH_ONLY, current.enabled(), endRamp(current, RampState.ROLLED_BACK, why),
                clock.instant(), actor, "rollback: " + why));
    }

    /** Disabled: every request of the route goes to the monolith, whatever the weight; enabled: the weight applies again. */
    public RouteState setEnabled(String route, boolean enabled) {
        RouteState current = current(route);
        return publish(route, current.command(current.weight(), enabled, current.ramp(), clock.instant(), actor,
                enabled ? "route enabled" : "route disabled"));
    }

    /**
     * Starts a ramp to {@code target}. A step at least as large as the distance is a blue-green
     * switch: the weight is set at once and the ramp is DONE.
     *
     * @throws IllegalStateException when a ramp is already running or paused (abort it first)
     */
    public RouteState startRamp(String route, Weight target, Weight step, Duration every) {
        RouteState current = current(route);
        if (current.ramp().isPresent() && current.ramp().get().state().active()) {
            throw new IllegalStateException("route " + route + " has a " + current.ramp().get().state() + " ramp to "
                    + current.ramp().get().target() + "; abort it first (strangler ramp abort " + route + ")");
        }
        Weight first = current.weight().stepToward(target, step);
        boolean done = first.equals(target);
        Ramp ramp = new Ramp(done ? RampState.DONE : RampState.RUNNING, target, step, every, clock.instant().plus(every),
                done ? "switched in one step" : "started");
        return publish(route, current.command(first, current.enabled(), Optional.of(ramp), clock.instant(), actor,
                "cutover to " + target + (done ? "" : " by " + step + " every " + every)));
    }

    public RouteState pauseRamp(String route, String why) {
        return moveRamp(route, RampState.PAUSED, why);
    }

    public RouteState resumeRamp(String route) {
        return moveRamp(route, RampState.RUNNING, "resumed");
    }

    /** Stops the ramp where it is; the weight stays. */
    public RouteState abortRamp(String route) {
        return moveRamp(route, RampState.ABORTED, "aborted by an operator");
    }

    private RouteState moveRamp(String route, RampState next, String why) {
        RouteState current = current(route);
        Ramp ramp = current.ramp().filter(r -> r.state().active()).orElseThrow(() -> new IllegalStateException(
                "route " + route + " has no running or paused ramp" + current.ramp().map(r -> " (the last one is " + r.state() + ")").orElse("")));
        Ramp moved = ramp.moveTo(next, why);
        if (next == RampState.RUNNING) {
            moved = moved.nextStepAt(clock.instant().plus(ramp.every()));
        }
        return publish(route, current.command(current.weight(), current.enabled(), Optional.of(moved), clock.instant(), actor,
                "ramp " + next.name().toLowerCase(java.util.Locale.ROOT) + ": " + why));
    }

    /** Writes a state as it is (the ramp driver's steps; a repair of the state in force). */
    public RouteState publish(String route, RouteState state) {
        try {
            producer.send(new ProducerRecord<>(topic, route, state.toJson())).get(30, TimeUnit.SECONDS);
            return state;
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot write route " + route + " to topic " + topic + " on " + kafka.bootstrapServers()
                    + ": " + (e.getCause() == null ? e : e.getCause()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing route " + route, e);
        }
    }

    private RouteState current(String route) {
        if (!initialWeights.containsKey(route)) {
            throw new IllegalArgumentException("no route '" + route + "' in the config; routes: " + String.join(", ", initialWeights.keySet()));
        }
        return read().get(route);
    }

    private static Optional<Ramp> endRamp(RouteState current, RampState end, String why) {
        return current.ramp().map(r -> r.state().active() ? r.moveTo(end, why) : r);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
