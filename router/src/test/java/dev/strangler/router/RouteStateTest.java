package dev.strangler.router;

import dev.strangler.core.Weight;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouteStateTest {

    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    @Test
    void roundTripsThroughItsJson() {
        Ramp ramp = new Ramp(RampState.RUNNING, Weight.parse("50%"), Weight.parse("5%"), Duration.ofMinutes(5), T.plusSeconds(300), "started");
        RouteState state = RouteState.initial(Weight.MONOLITH_ONLY).command(Weight.parse("5%"), true, Optional.of(ramp), T, "cli@host", "cutover");
        RouteState read = RouteState.fromJson(state.toJson());
        assertThat(read).isEqualTo(state);
    }

    @Test
    void aHandWrittenRecordNeedsOnlyAWeight() {
        RouteState s = RouteState.fromJson("{\"weight\":\"12.5%\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(s.weight().basisPoints()).isEqualTo(1250);
        assertThat(s.enabled()).isTrue();
        assertThat(s.conditional()).isFalse();
    }

    @Test
    void badRecordsSayWhatIsWrong() {
        assertThatThrownBy(() -> RouteState.fromJson("nope".getBytes(StandardCharsets.UTF_8))).hasMessageStartingWith("not JSON");
        assertThatThrownBy(() -> RouteState.fromJson("{\"enabled\":true}".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("no \"weight\"");
        assertThatThrownBy(() -> RouteState.fromJson("{\"weight\":\"120%\"}".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("0 to 10000");
        assertThatThrownBy(() -> RouteState.fromJson("{\"weight\":\"half\"}".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("'half'");
    }

    @Test
    void aRampStepComputedBeforeARollbackNeverUndoesIt() {
        RouteState running = RouteState.initial(Weight.MONOLITH_ONLY).command(Weight.parse("10%"), true, Optional.empty(), T, "cli", "cutover");
        RouteState step = running.conditionalStep(Weight.parse("15%"), Optional.empty(), T, "ramp-driver", "step");
        RouteState rollback = running.command(Weight.MONOLITH_ONLY, true, Optional.empty(), T, "cli", "rollback: bad");
        // log order: rollback, then the step computed from the state before it
        assertThat(RouteControl.accepts(running, rollback)).isTrue();
        assertThat(RouteControl.accepts(rollback, step)).isFalse();
        // the other order: the step lands first, then the rollback still wins
        assertThat(RouteControl.accepts(running, step)).isTrue();
        assertThat(RouteControl.accepts(step, rollback)).isTrue();
    }
}
