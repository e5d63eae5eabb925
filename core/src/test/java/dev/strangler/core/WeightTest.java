package dev.strangler.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WeightTest {

    @Test
    void readsPercentsAndBasisPoints() {
        assertThat(Weight.parse("25%").basisPoints()).isEqualTo(2500);
        assertThat(Weight.parse("0.01%").basisPoints()).isEqualTo(1);
        assertThat(Weight.parse("12.5%").basisPoints()).isEqualTo(1250);
        assertThat(Weight.parse("2500bp").basisPoints()).isEqualTo(2500);
        assertThat(Weight.parse(" 100% ")).isEqualTo(Weight.SERVICE_ONLY);
        assertThat(Weight.parse("0")).isEqualTo(Weight.MONOLITH_ONLY);
    }

    @Test
    void printsAsAPercent() {
        assertThat(new Weight(2500)).hasToString("25%");
        assertThat(new Weight(1)).hasToString("0.01%");
        assertThat(new Weight(1250)).hasToString("12.5%");
        assertThat(Weight.parse(new Weight(333).toString()).basisPoints()).isEqualTo(333);
    }

    @Test
    void refusesWhatIsNotAWeight() {
        assertThatThrownBy(() -> Weight.parse("101%")).hasMessageContaining("0 to 10000");
        assertThatThrownBy(() -> Weight.parse("0.001%")).hasMessageContaining("two decimals");
        assertThatThrownBy(() -> Weight.parse("25")).hasMessageContaining("'25'").hasMessageContaining("2500bp");
        assertThatThrownBy(() -> Weight.parse("-5%")).hasMessageContaining("0 to 10000");
    }

    @Test
    void stepsTowardATargetWithoutPassingIt() {
        assertThat(Weight.parse("45%").stepToward(Weight.parse("50%"), Weight.parse("10%"))).isEqualTo(Weight.parse("50%"));
        assertThat(Weight.parse("10%").stepToward(Weight.parse("50%"), Weight.parse("5%"))).isEqualTo(Weight.parse("15%"));
        assertThat(Weight.parse("50%").stepToward(Weight.parse("0%"), Weight.parse("20%"))).isEqualTo(Weight.parse("30%"));
    }
}
