package dev.strangler.router.internal;

import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.Weight;
import dev.strangler.core.config.RouteSettings;
import dev.strangler.router.Ramp;
import dev.strangler.router.RampState;
import dev.strangler.router.RouteControl;
import dev.strangler.router.RouteState;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Moves running ramps: checks each route's gates every {@code tick}, pauses or rolls back on a failing
 * gate, and takes the next step when it is due and the gates pass. Exactly one router replica drives
 * ramps at a time: the one a Kafka consumer group on the routes topic gives its single partition to;
 * when it dies the group hands the partition, and the driving, to another replica. Every write is a
 * conditional {@link RouteState}, so a step computed just before an operator's rollback never undoes it.
 */
public final class RampDriver implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RampDriver.class);
    private static final String DRIVER = "ramp-driver";

    private final KafkaConsumer<byte[], byte[]> election;
    private final String topic;
    private final List<LiveRoute> routes;
    private final GateCheck gates;
    private final RouteControl control;
    private final Clock clock;
    private final Duration tick;
    private Thread thread;
    private volatile boolean running;
    private volatile boolean leader;

    public RampDriver(KafkaEndpoint kafka, String topic, String groupId, List<LiveRoute> routes, GateCheck gates, RouteControl control,
                      Clock clock, Duration tick) {
        this.topic = topic;
        this.routes = List.copyOf(routes);
        this.gates = gates;
        this.control = control;
        this.clock = clock;
        this.tick = tick;
        Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-router-ramp-election", "group.id", groupId,
                "enable.auto.commit", "false", "auto.offset.reset", "latest", "session.timeout.ms", "10000",
                "heartbeat.interval.ms", "1000", "max.poll.interval.ms", "60000"));
        this.election = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    public void start() {
        running = true;
        election.subscribe(List.of(topic));
        thread = new Thread(this::run, "strangler-router-ramps");
        thread.setDaemon(true);
        thread.start();
    }

    /** Whether this replica drives the ramps now. */
    public boolean leader() {
        return leader;
    }

    private void run() {
        Instant nextTick = Instant.EPOCH;
        try {
            while (running) {
                election.poll(Duration.ofMillis(100));
                boolean nowLeader = !election.assignment().isEmpty();
                if (nowLeader != leader) {
                    LOG.info(nowLeader ? "this router replica now drives ramps" : "this router replica no longer drives ramps");
                    leader = nowLeader;
                }
                Instant now = clock.instant();
                if (!now.isBefore(nextTick)) {
                    nextTick = now.plus(tick);
                    for (LiveRoute route : routes) {
                        gates.check(route);
                        if (leader) {
                            drive(route, now);
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // close()
        } catch (RuntimeException e) {
            LOG.error("the ramp driver stopped; running ramps stay where they are until a restart", e);
        } finally {
            leader = false;
            election.close(Duration.ofSeconds(2));
        }
    }

    private void drive(LiveRoute route, Instant now) {
        RouteState state = route.state();
        Optional<Ramp> ramp = state.ramp();
        if (ramp.isEmpty() || ramp.get().state() != RampState.RUNNING) {
            return;
        }
        Ramp r = ramp.get();
        GateReport report = route.lastGates();
        try {
            if (!report.passed()) {
                String why = "gate failed: " + report.failures();
                if (route.settings().gates().onFailure() == RouteSettings.Gates.OnFailure.ROLLBACK) {
                    LOG.warn("route {}: rolling back from {}: {}", route.name(), state.weight(), why);
                    control.publish(route.name(), state.conditionalStep(Weight.MONOLITH_ONLY, Optional.of(r.moveTo(RampState.ROLLED_BACK, why)),
                            now, DRIVER, "rollback: " + why));
                } else {
                    LOG.warn("route {}: pausing the ramp at {}: {}", route.name(), state.weight(), why);
                    control.publish(route.name(), state.conditionalStep(state.weight(), Optional.of(r.moveTo(RampState.PAUSED, why)),
                            now, DRIVER, "ramp paused: " + why));
                }
                return;
            }
            if (now.isBefore(r.nextStepAt())) {
                return;
            }
            Weight next = state.weight().stepToward(r.target(), r.step());
            boolean done = next.equals(r.target());
            Ramp after = done ? r.moveTo(RampState.DONE, "reached " + r.target()) : r.nextStepAt(now.plus(r.every()));
            LOG.info("route {}: ramp step {} -> {}{}", route.name(), state.weight(), next, done ? " (target reached)" : "");
            control.publish(route.name(), state.conditionalStep(next, Optional.of(after), now, DRIVER,
                    "ramp step to " + next + " of " + r.target()));
        } catch (IllegalStateException e) {
            LOG.warn("route {}: could not write the ramp's next state ({}); retrying at the next tick", route.name(), e.getMessage());
        }
    }

    /**
     * A step of ours lost to a newer command: re-write the state in force unconditionally, so that the
     * lost step is never the last record of the route on the compacted topic.
     */
    public void restate(String route, RouteState inForce) {
        if (!leader) {
            return;
        }
        try {
            control.publish(route, inForce.command(inForce.weight(), inForce.enabled(), inForce.ramp(), clock.instant(), DRIVER,
                    "restated: " + inForce.reason()));
        } catch (IllegalStateException e) {
            LOG.warn("route {}: could not restate revision {}: {}", route, inForce.revision(), e.getMessage());
        }
    }

    @Override
    public void close() {
        running = false;
        if (thread != null) {
            election.wakeup();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
