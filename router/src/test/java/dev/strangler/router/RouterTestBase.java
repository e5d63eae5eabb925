package dev.strangler.router;

import dev.strangler.sandbox.EmbeddedKafka;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

import java.util.Locale;

/** A broker per test class and a fresh {@link RouterHarness} (own upstreams, own topic prefix) per test. */
abstract class RouterTestBase {

    static EmbeddedKafka kafka;
    RouterHarness h;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.startTemporary();
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    @BeforeEach
    void harness(TestInfo test) {
        String name = test.getTestMethod().orElseThrow().getName().toLowerCase(Locale.ROOT);
        h = new RouterHarness(kafka, getClass().getSimpleName().substring(0, 1).toLowerCase(Locale.ROOT) + "-" + name.substring(0, Math.min(20, name.length())));
    }

    @AfterEach
    void close() {
        h.close();
    }
}
