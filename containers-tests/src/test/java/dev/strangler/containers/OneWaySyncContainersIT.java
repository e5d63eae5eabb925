package dev.strangler.containers;

import dev.strangler.cli.Pipeline;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one-way scenario of OneWaySyncIT against real images: Kafka 4.1 (KRaft) and PostgreSQL 17 in
 * containers. Where no Docker engine runs it is skipped, saying so; the sandbox-based ITs cover the same path.
 */
class OneWaySyncContainersIT {

    @TempDir
    Path work;

    @Test
    void snapshotThenChangesReachTheServiceDatabase() throws Exception {
        Assumptions.assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
                "no Docker engine here: the container scenarios are skipped (the sandbox-based integration tests cover the same paths)");
        try (KafkaContainer kafka = new KafkaContainer("apache/kafka:4.1.1");
             PostgreSQLContainer monolith = new PostgreSQLContainer("postgres:17").withCommand("postgres", "-c", "wal_level=logical");
             PostgreSQLContainer service = new PostgreSQLContainer("postgres:17")) {
            kafka.start();
            monolith.start();
            service.start();
            execute(monolith, "CREATE TABLE items (id int PRIMARY KEY, name text)",
                    "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
            String yaml = """
                    kafka: {bootstrap: "%s", topicPrefix: containers}
                    monolith: {url: "%s", user: "%s", password: "%s"}
                    sync: {stateDir: "%s"}
                    http: {port: 0}
                    services:
                      svc: {url: "%s", user: "%s", password: "%s", tables: [public.items]}
                    """.formatted(kafka.getBootstrapServers(), monolith.getJdbcUrl(), monolith.getUsername(), monolith.getPassword(),
                    work.resolve("streams"), service.getJdbcUrl(), service.getUsername(), service.getPassword());
            StranglerConfig config = new ConfigLoader(k -> null, work).parse(yaml, "containers");
            try (Pipeline pipeline = new Pipeline(config, new SimpleMeterRegistry(), Clock.systemUTC(), ApplyListener.NONE)) {
                pipeline.start(Pipeline.Part.DATA_PATH);
                execute(monolith, "UPDATE items SET name = 'changed' WHERE id = 7", "DELETE FROM items WHERE id = 8",
                        "INSERT INTO items VALUES (101, 'new')");
                Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() ->
                        assertThat(rows(service, "SELECT id, name FROM public.items ORDER BY id"))
                                .containsExactlyElementsOf(rows(monolith, "SELECT id, name FROM items ORDER BY id")));
            }
        }
    }

    private static void execute(PostgreSQLContainer db, String... sql) throws Exception {
        try (Connection c = DriverManager.getConnection(db.getJdbcUrl(), db.getUsername(), db.getPassword()); Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        }
    }

    private static List<String> rows(PostgreSQLContainer db, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(db.getJdbcUrl(), db.getUsername(), db.getPassword());
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1) + "|" + rs.getString(2));
            }
        }
        return out;
    }
}
