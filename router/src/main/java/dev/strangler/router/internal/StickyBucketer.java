package dev.strangler.router.internal;

import dev.strangler.core.Weight;
import org.apache.commons.codec.digest.MurmurHash3;

import java.nio.charset.StandardCharsets;

/**
 * Puts a sticky key into one of 10,000 buckets with MurmurHash3 (32-bit, x86, seed 0) of
 * {@code route:key}, as Unleash buckets users of a feature. A request goes to the service when its
 * bucket is below the weight in basis points, so raising the weight only adds buckets to the service
 * side: a user never flips back and forth while a ramp goes up. The route name in the hash gives each
 * route its own order of users, so the first 5% of one route are not the first 5% of every route.
 */
public final class StickyBucketer {

    private StickyBucketer() {
    }

    /** 0..9999. */
    public static int bucket(String route, String key) {
        byte[] bytes = (route + ":" + key).getBytes(StandardCharsets.UTF_8);
        int hash = MurmurHash3.hash32x86(bytes, 0, bytes.length, 0);
        return (int) (Integer.toUnsignedLong(hash) % Weight.MAX_BASIS_POINTS);
    }

    public static boolean toService(String route, String key, Weight weight) {
        return bucket(route, key) < weight.basisPoints();
    }
}
