package dev.strangler.router.internal;

import dev.strangler.core.Weight;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class StickyBucketerTest {

    @Test
    void raisingTheWeightOnlyAddsKeysToTheServiceSide() {
        Random random = new Random(7);
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < 20_000; i++) {
            keys.add("user-" + random.nextInt(1_000_000_000));
        }
        Set<String> previous = Set.of();
        int weight = 0;
        while (weight < Weight.MAX_BASIS_POINTS) {
            weight = Math.min(Weight.MAX_BASIS_POINTS, weight + 1 + random.nextInt(1500));
            Weight w = new Weight(weight);
            Set<String> onService = new HashSet<>();
            for (String key : keys) {
                if (StickyBucketer.toService("orders-read", key, w)) {
                    onService.add(key);
                }
            }
            assertThat(onService).as("service side at %s", w).containsAll(previous);
            previous = onService;
        }
        assertThat(previous).hasSameSizeAs(keys);
    }

    @Test
    void theShareOfKeysFollowsTheWeight() {
        for (int bp : new int[] {100, 2500, 5000, 9000}) {
            int onService = 0;
            int n = 100_000;
            for (int i = 0; i < n; i++) {
                if (StickyBucketer.toService("orders-read", "user-" + i, new Weight(bp))) {
                    onService++;
                }
            }
            // binomial standard deviation at n = 100,000 is at most 0.16%; allow about 5 of them
            assertThat((double) onService / n).as("share at %dbp", bp).isCloseTo(bp / 10_000.0, org.assertj.core.data.Offset.offset(0.008));
        }
    }

    @Test
    void eachRouteOrdersUsersItsOwnWay() {
        int same = 0;
        for (int i = 0; i < 10_000; i++) {
            boolean a = StickyBucketer.toService("orders-read", "user-" + i, new Weight(1000));
            boolean b = StickyBucketer.toService("customers-read", "user-" + i, new Weight(1000));
            if (a && b) {
                same++;
            }
        }
        // independent 10% samples overlap on about 1% of users, not 10%
        assertThat(same).isBetween(50, 200);
    }

    @Test
    void bucketsAreMurmur3OfRouteAndKeyModuloTenThousand() {
        // computed independently (a plain MurmurHash3 x86 32-bit, seed 0, of the UTF-8 bytes), pinned so that a
        // library change cannot move users between sides silently
        assertThat(StickyBucketer.bucket("orders-read", "user-42")).isEqualTo(8557);
        assertThat(StickyBucketer.bucket("orders-read", "j\u00f6rg")).isEqualTo(3760);
    }
}
