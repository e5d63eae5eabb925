package dev.strangler.cli;

import dev.strangler.sandbox.EmbeddedPostgres;
import dev.strangler.sandbox.SampleShop;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code strangler init} on a real monolith writes a config that {@code strangler doctor} approves; doctor names what is wrong. */
class InitDoctorIT extends SandboxTestBase {

    @TempDir
    Path dir;

    @Test
    void initListsEveryTableAndDoctorApprovesTheResult() throws Exception {
        postgres.createDatabase("initshop");
        postgres.createDatabase("initsvc");
        try (Connection c = postgres.connect("initshop")) {
            new SampleShop(1).create(c, 10, 5, 10);
        }
        postgres.execute("initshop", "CREATE TABLE audit_log (at timestamptz, line text)");
        Path password = Files.writeString(dir.resolve("pw"), EmbeddedPostgres.PASSWORD);
        Path config = dir.resolve("strangler.yaml");

        CliResult init = runCli("init", "--monolith", postgres.jdbcUrl("initshop"), "--user", "postgres", "--password-file", password.toString(),
                "--service", "orders", "--service-url", postgres.jdbcUrl("initsvc"), "--service-user", "postgres", "-o", config.toString());
        assertThat(init.exitCode()).as(init.stderr()).isZero();
        assertThat(init.stdout()).contains("wrote " + config + ": 4 tables, 1 without a primary key left commented out");
        String yaml = Files.readString(config);
        assertThat(yaml).contains("      - from: public.orders   # key: id;", "      - from: public.order_items   # key: order_id, line_no;",
                "      # - from: public.audit_log   # NO PRIMARY KEY", "password: ${MONOLITH_PASSWORD}", "password: ${ORDERS_PASSWORD}");

        // the passwords come from the environment, which a test cannot set: write them in
        Files.writeString(config, yaml.replace("${MONOLITH_PASSWORD}", EmbeddedPostgres.PASSWORD)
                .replace("${ORDERS_PASSWORD}", EmbeddedPostgres.PASSWORD).replace("bootstrap: embedded",
                        "bootstrap: \"" + kafka.bootstrapServers() + "\""));
        CliResult doctor = runCli("doctor", "-c", config.toString());
        assertThat(doctor.exitCode()).as(doctor.stdout() + doctor.stderr()).isZero();
        assertThat(doctor.stdout()).contains("✓ monolith " + postgres.jdbcUrl("initshop") + " answers (PostgreSQL 17",
                "✓ replication slot strangler does not exist yet", "✓ every mapped table exists", "answers with 1 broker(s)", "all checks pass");

        CliResult again = runCli("init", "--monolith", postgres.jdbcUrl("initshop"), "--user", "postgres", "-o", config.toString());
        assertThat(again.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(again.stderr()).contains("exists; choose another --output or add --force");
    }

    @Test
    void doctorNamesEachFailureWithItsFix() throws Exception {
        postgres.createDatabase("docshop");
        postgres.execute("docshop", "CREATE TABLE t (id int PRIMARY KEY)");
        Path config = dir.resolve("bad.yaml");
        Files.writeString(config, """
                kafka: {bootstrap: "127.0.0.1:1"}
                monolith: {url: "%s", user: postgres, password: postgres}
                services:
                  svc: {url: "jdbc:postgresql://127.0.0.1:1/nothing", user: x, tables: [public.t, public.missing]}
                """.formatted(postgres.jdbcUrl("docshop")));
        CliResult doctor = runCli("doctor", "-c", config.toString());
        assertThat(doctor.exitCode()).isEqualTo(Main.EXIT_FAILED);
        assertThat(doctor.stdout()).contains("✗ services.svc.tables[1].from", "table public.missing does not exist in the monolith",
                "✗ services.svc.url", "cannot connect to service database", "✗ Kafka 127.0.0.1:1 does not answer",
                "check kafka.bootstrap", "checks fail; fix them and run strangler doctor again");
        CliResult bad = runCli("init", "--monolith", "mysql://x", "--user", "u");
        assertThat(bad.exitCode()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(bad.stderr()).contains("--monolith must be jdbc:postgresql://host:port/database");
    }
}
