package dev.strangler.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** A custom Java transform splits one monolith table into two service tables, for copies, inserts, updates and deletes. */
class CustomTransformIT extends SandboxTestBase {

    @Test
    void aCustomTransformSplitsOneTableIntoTwo() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, street text, city text)",
                    "INSERT INTO customers SELECT g, 'customer ' || g, g || ' Main Street', 'City ' || (g % 7) FROM generate_series(1, 50) g");
            h.givenService("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL)",
                    "CREATE TABLE addresses (customer_id bigint PRIMARY KEY REFERENCES customers(id), street text, city text)");
            String tables = """
                    - from: public.customers
                      columns: {street: null, city: null}
                      custom:
                        class: dev.strangler.cli.SplitAddresses
                        targets: [public.addresses]
                        options: {addresses: public.addresses}
                    """;
            h.startStrangler(tables);
            String names = "SELECT id, name FROM customers ORDER BY id";
            String addresses = "SELECT id, street, city FROM customers ORDER BY id";
            String serviceAddresses = "SELECT customer_id, street, city FROM addresses ORDER BY customer_id";
            h.awaitServiceMatchesMonolith(names, names, Duration.ofSeconds(60));
            h.awaitServiceMatchesMonolith(addresses, serviceAddresses, Duration.ofSeconds(30));

            h.inMonolith("INSERT INTO customers VALUES (51, 'new', '1 New Road', 'Newtown')",
                    "UPDATE customers SET city = 'Moved' WHERE id = 3", "UPDATE customers SET name = 'renamed' WHERE id = 4",
                    "DELETE FROM customers WHERE id = 5");
            h.awaitServiceMatchesMonolith(names, names, Duration.ofSeconds(30));
            h.awaitServiceMatchesMonolith(addresses, serviceAddresses, Duration.ofSeconds(30));
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM addresses")).isEqualTo(50);

            Path config = h.writeConfig(tables);
            CliResult validate = runCli("validate", "--table", "public.customers", "-c", config.toString());
            assertThat(validate.stderr()).contains("not validated: the table has a custom transform");
        }
    }

    @Test
    void aCustomTransformThatCannotBeLoadedIsAConfigErrorNamingIt() {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            Path config = h.writeConfig("""
                    - from: public.customers
                      custom: {class: com.example.Missing}
                    """);
            CliResult result = runCli("preview", "--table", "public.customers", "-c", config.toString());
            assertThat(result.exitCode()).isEqualTo(Main.EXIT_CONFIG);
            assertThat(result.stderr()).contains("custom.class", "com.example.Missing is not on the classpath");
        }
    }
}
