package dev.strangler.cli;

import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** A real Kafka broker and a real PostgreSQL for the integration tests of one class. */
abstract class SandboxTestBase {

    static EmbeddedKafka kafka;
    static EmbeddedPostgres postgres;

    @BeforeAll
    static void startSandbox() {
        kafka = EmbeddedKafka.startTemporary();
        postgres = EmbeddedPostgres.start();
    }

    @AfterAll
    static void stopSandbox() {
        kafka.close();
        postgres.close();
    }

    /** What {@code strangler <args>} returned and wrote to standard error and standard output. */
    record CliResult(int exitCode, String stderr, String stdout) {
    }

    static CliResult runCli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream originalErr = System.err;
        PrintStream originalOut = System.out;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int exit = Main.execute(args);
            return new CliResult(exit, err.toString(StandardCharsets.UTF_8), out.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(originalErr);
            System.setOut(originalOut);
        }
    }
}
