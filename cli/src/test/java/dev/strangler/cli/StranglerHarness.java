package dev.strangler.cli;

import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import dev.strangler.sandbox.EmbeddedKafka;
import dev.strangler.sandbox.EmbeddedPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.awaitility.Awaitility;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Domain verbs for end-to-end tests on a real broker and a real PostgreSQL: a monolith database and a
 * service database per test, a config written as YAML, Strangler started in this JVM or as a
 * separate process, and row-by-row comparison of monolith and service tables.
 */
final class StranglerHarness implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    final EmbeddedKafka kafka;
    final EmbeddedPostgres postgres;
    final String monolithDb;
    final String serviceDb;
    final String prefix;
    final Path workDir;
    private Pipeline pipeline;
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

    StranglerHarness(EmbeddedKafka kafka, EmbeddedPostgres postgres) {
        this.kafka = kafka;
        this.postgres = postgres;
        int n = COUNTER.incrementAndGet();
        this.monolithDb = "monolith" + n;
        this.serviceDb = "service" + n;
        this.prefix = "t" + n;
        postgres.createDatabase(monolithDb);
        postgres.createDatabase(serviceDb);
        try {
            this.workDir = Files.createTempDirectory("strangler-it");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs SQL in the monolith, one statement after another, autocommit. */
    StranglerHarness givenMonolith(String... sql) {
        postgres.execute(monolithDb, sql);
        return this;
    }

    StranglerHarness givenService(String... sql) {
        postgres.execute(serviceDb, sql);
        return this;
    }

    void inMonolith(String... sql) {
        postgres.execute(monolithDb, sql);
    }

    /** A config for this test's databases and broker; {@code tables} is the YAML list of the service's tables. */
    String config(String tables) {
        return """
                kafka:
                  bootstrap: %s
                  topicPrefix: %s
                monolith:
                  url: %s
                  user: postgres
                  password: postgres
                capture:
                  slotName: %s
                  publicationName: %s
                sync:
                  stateDir: %s
                http:
                  port: 0
                services:
                  svc:
                    url: %s
                    user: postgres
                    password: postgres
                    tables:
                %s
                """.formatted(kafka.bootstrapServers(), prefix, postgres.jdbcUrl(monolithDb), prefix, prefix,
                workDir.resolve("streams"), postgres.jdbcUrl(serviceDb), tables.stripIndent().indent(6));
    }

    /** The topic prefix (also the slot and publication name) of this harness. */
    String topicPrefix() {
        return prefix;
    }

    Path writeConfig(String tables) {
        return writeConfigText(config(tables));
    }

    /** A config file with more top-level YAML (such as a {@code validator:} section) after the generated config. */
    Path writeConfig(String tables, String moreYaml) {
        return writeConfigText(config(tables) + moreYaml);
    }

    /** A config whose Kafka broker runs inside Strangler's own process ({@code bootstrap: embedded}), log in the work dir. */
    Path writeEmbeddedBrokerConfig(String tables) {
        return writeConfigText(config(tables).replace("bootstrap: " + kafka.bootstrapServers(),
                "bootstrap: embedded\n  dataDir: " + workDir.resolve("kafka")));
    }

    /** A config file with exactly this text (for instance {@link #config} with a setting changed). */
    Path writeConfigText(String text) {
        Path file = workDir.resolve("strangler.yaml");
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** Starts Strangler in this JVM. */
    StranglerHarness startStrangler(String tables) {
        return startStrangler(tables, "");
    }

    /** Starts Strangler in this JVM, with more top-level YAML (such as a {@code writer:} section) after the generated config. */
    StranglerHarness startStrangler(String tables, String moreYaml) {
        return startStranglerWith(config(tables) + moreYaml);
    }

    /** Starts Strangler in this JVM with a whole config (for instance {@link #config} with a setting changed). */
    StranglerHarness startStranglerWith(String yaml) {
        return startStranglerWith(yaml, Pipeline.Part.DATA_PATH);
    }

    /** Starts these parts of Strangler in this JVM with a whole config (for instance the data path without its writer). */
    StranglerHarness startStranglerWith(String yaml, Set<Pipeline.Part> parts) {
        StranglerConfig config = new ConfigLoader(k -> null, workDir).parse(yaml, "test config");
        pipeline = new Pipeline(config, metrics, Clock.systemUTC(), ApplyListener.NONE);
        pipeline.start(parts);
        return this;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    void stopStrangler() {
        if (pipeline != null) {
            pipeline.close();
            pipeline = null;
        }
    }

    /** Waits until the service table holds exactly the monolith table's rows (every column compared as text). */
    void awaitServiceMatchesMonolith(String sourceQuery, String targetQuery, Duration timeout) {
        Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() ->
                assertThat(rows(serviceDb, targetQuery)).containsExactlyElementsOf(rows(monolithDb, sourceQuery)));
    }

    List<List<String>> monolithRows(String query) {
        return rows(monolithDb, query);
    }

    List<List<String>> serviceRows(String query) {
        return rows(serviceDb, query);
    }

    List<List<String>> rows(String database, String query) {
        try (Connection c = postgres.connect(database)) {
            return rows(c, query);
        } catch (SQLException e) {
            throw new IllegalStateException("query failed in " + database + ": " + query + ": " + e.getMessage(), e);
        }
    }

    /** Every row of a query as text, in order, from any database. */
    static List<List<String>> rows(Connection c, String query) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            ResultSetMetaData meta = rs.getMetaData();
            List<List<String>> out = new ArrayList<>();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
            return out;
        }
    }

    /**
     * A service table of (id, ..., rev, ...) rows whose every write is logged in {@code apply_log (id, rev, op)} by
     * a trigger, to find a row version applied twice.
     */
    StranglerHarness givenServiceWithApplyLog(String table, String createTable) {
        return givenService(createTable,
                "CREATE TABLE apply_log (id bigint, rev int, op text)",
                """
                CREATE FUNCTION log_apply() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN INSERT INTO apply_log VALUES (OLD.id, OLD.rev, TG_OP);
                  ELSE INSERT INTO apply_log VALUES (NEW.id, NEW.rev, TG_OP); END IF;
                  RETURN NULL;
                END $$""",
                "CREATE TRIGGER log_apply AFTER INSERT OR UPDATE OR DELETE ON " + table + " FOR EACH ROW EXECUTE FUNCTION log_apply()");
    }

    long count(String database, String query) {
        return Long.parseLong(rows(database, query).get(0).get(0));
    }

    @Override
    public void close() {
        stopStrangler();
        Directories.deleteRecursively(workDir);
    }
}
