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

    /** A route taking /api/orders: 50/50 by X-User-Id unless told, X-Canary: 1 to the service, user vip-1 kept on the monolith. */
    static final String ORDERS = """
            orders-read:
              match: {pathPrefix: /api/orders, methods: [GET, HEAD, POST]}
              monolith: {{monolith}}
              service: {{service}}
              stickyKey: header:X-User-Id
              canary: {header: X-Canary, value: "1"}
              exclude: {keys: [vip-1]}
            """;

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
