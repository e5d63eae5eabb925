package dev.strangler.core.config;

import dev.strangler.core.TableId;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    private final ConfigLoader loader = new ConfigLoader(Map.of("MONOLITH_PASSWORD", "s3cret-pw", "ORDERS_PASSWORD", "other-pw")::get, Path.of("/srv"));

    private static final String GOOD = """
            kafka:
              bootstrap: embedded
              topicPrefix: strangler
            monolith:
              type: postgres
              url: jdbc:postgresql://127.0.0.1:5432/shop
              user: strangler
              password: ${MONOLITH_PASSWORD}
            services:
              orders:
                url: jdbc:postgresql://127.0.0.1:5433/orders
                user: orders
                password: ${ORDERS_PASSWORD}
                tables:
                  - from: public.orders
                    to: public.orders
                    columns: {order_note: note, internal_flag: null}
                    where: "status <> 'draft'"
                  - public.order_items
            """;

    @Test
    void readsTheDocumentedExample() {
        StranglerConfig config = loader.parse(GOOD, "test");
        assertThat(config.kafka().embedded()).isTrue();
        assertThat(config.kafka().dataDir()).isEqualTo(Path.of("/srv/strangler-data/kafka"));
        assertThat(config.monolith().password().reveal()).isEqualTo("s3cret-pw");
        assertThat(config.monolith().password()).hasToString("****");
        ServiceSettings orders = config.services().get("orders");
        assertThat(orders.tables()).hasSize(2);
        TableRoute route = orders.tables().get(0);
        assertThat(route.from()).isEqualTo(new TableId("public", "orders"));
        assertThat(route.targetColumn("order_note")).contains("note");
        assertThat(route.targetColumn("internal_flag")).isEmpty();
        assertThat(route.targetColumn("status")).contains("status");
        assertThat(route.where()).isPresent();
        assertThat(orders.tables().get(1).to()).isEqualTo(new TableId("public", "order_items"));
        assertThat(config.capture().pollInterval()).isEqualTo(Duration.ofMillis(10));
        assertThat(config.capturedTables()).extracting(TableId::toString).containsExactly("public.order_items", "public.orders");
    }

    @Test
    void listsEveryProblemWithItsPathAtOnce() {
        String bad = """
                kafka:
                  bootstrap: "localhost"
                  partitons: 3
                monolith:
                  type: oracle
                  url: postgres://x
                services:
                  orders:
                    url: jdbc:postgresql://127.0.0.1:5433/orders
                    user: orders
                    password: ${NOT_SET}
                    tables:
                      - from: public.orders
                        columns: {a: b, c: b}
                        where: "status <> "
                      - to: public.x
                capture:
                  pollInterval: soon
                """;
        assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).extracting(ConfigProblem::toString)
                        .anySatisfy(p -> assertThat(p).startsWith("kafka.bootstrap: 'localhost' is not host:port"))
                        .anySatisfy(p -> assertThat(p).startsWith("kafka.partitons: unknown key; did you mean partitions?"))
                        .anySatisfy(p -> assertThat(p).startsWith("monolith.type: must be one of postgres, mariadb, mysql, not 'oracle'"))
                        .anySatisfy(p -> assertThat(p).startsWith("monolith.user: is required"))
                        .anySatisfy(p -> assertThat(p).startsWith("services.orders.password: environment variable NOT_SET is not set"))
                        .anySatisfy(p -> assertThat(p).startsWith("services.orders.tables[0].columns.c: renames to 'b'"))
                        .anySatisfy(p -> assertThat(p).startsWith("services.orders.tables[0].where: 'status <> ' is not a SQL condition"))
                        .anySatisfy(p -> assertThat(p).startsWith("services.orders.tables[1].from: is required"))
                        .anySatisfy(p -> assertThat(p).startsWith("capture.pollInterval: must be a duration")))
                .hasMessageStartingWith("10 problems in bad.yaml:");
    }

    @Test
    void unknownKeysAreErrorsWithASuggestion() {
        String yaml = GOOD.replace("  topicPrefix: strangler", "  topicPrefx: strangler") + "extra: 1\n";
        assertThatThrownBy(() -> loader.parse(yaml, "x"))
                .hasMessageContaining("kafka.topicPrefx: unknown key; did you mean topicPrefix?")
                .hasMessageContaining("extra: unknown key");
    }

    @Test
    void passwordsNeverAppearInErrors() {
        String yaml = GOOD.replace("user: orders", "user: ''").replace("${ORDERS_PASSWORD}", "plain-password-123");
        assertThatThrownBy(() -> loader.parse(yaml, "x"))
                .hasMessageContaining("services.orders.user: must not be empty")
                .hasMessageNotContaining("plain-password-123")
                .hasMessageNotContaining("s3cret-pw");
    }

    @Test
    void invalidYamlSaysWhere() {
        assertThatThrownBy(() -> loader.parse("kafka:\n  bootstrap: [\n", "x"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("line ")
                .hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> loader.parse("", "x")).hasMessageContaining("the file is empty");
        assertThatThrownBy(() -> loader.parse("kafka: {}\nkafka: {}\n", "x")).hasMessageContaining("Duplicate field 'kafka'");
    }

    @Test
    void aTargetTableMayBeWrittenByOneRouteOnly() {
        String yaml = GOOD.replace("  - public.order_items", "  - {from: public.order_items, to: public.orders}");
        assertThatThrownBy(() -> loader.parse(yaml, "x"))
                .hasMessageContaining("services.orders.tables[1].to: writes public.orders in service orders, which services.orders.tables[0] writes already");
    }

    @Test
    void environmentDefaultsAndEscapes() {
        ConfigLoader noEnv = new ConfigLoader(name -> null, Path.of("/"));
        StranglerConfig config = noEnv.parse(GOOD.replace("${MONOLITH_PASSWORD}", "${MONOLITH_PASSWORD:-fallback}")
                .replace("${ORDERS_PASSWORD}", "$${LITERAL}"), "x");
        assertThat(config.monolith().password().reveal()).isEqualTo("fallback");
        assertThat(config.services().get("orders").database().password().reveal()).isEqualTo("${LITERAL}");
    }

    @Test
    void embeddedBrokerCannotReplicate() {
        assertThatThrownBy(() -> loader.parse(GOOD.replace("topicPrefix: strangler", "topicPrefix: strangler\n  replicationFactor: 3"), "x"))
                .hasMessageContaining("kafka.replicationFactor: the embedded broker is a single node");
    }

    @Test
    void aConfiguredKeyMustBeAListOfColumnNames() {
        String yaml = GOOD.replace("  - public.order_items", "  - {from: public.order_items, key: []}\n      - {from: public.ledger, key: [a, a, \"b c\"]}");
        assertThatThrownBy(() -> loader.parse(yaml, "x"))
                .hasMessageContaining("tables[1].key: must be a list of the columns that identify a row")
                .hasMessageContaining("tables[2].key: names a twice")
                .hasMessageContaining("tables[2].key: 'b c' is not a column name");
        StranglerConfig ok = loader.parse(GOOD.replace("  - public.order_items", "  - {from: public.order_items, key: [order_id, line_no]}"), "x");
        assertThat(ok.configuredKeys()).containsEntry(dev.strangler.core.TableId.parse("public.order_items"), java.util.List.of("order_id", "line_no"));
    }

    @Test
    void twoWayIsSetPerServiceOrPerTableAndEveryMappingThatCannotBeInvertedIsListed() {
        StranglerConfig ok = loader.parse(GOOD.replace("    password: ${ORDERS_PASSWORD}\n", "    password: ${ORDERS_PASSWORD}\n    direction: two-way\n")
                .replace("where: \"status", "direction: one-way\n        where: \"status")
                + "sync:\n  conflictWindow: 30s\n", "x");
        var tables = ok.services().get("orders").tables();
        assertThat(tables.get(0).direction()).isEqualTo(TableRoute.Direction.ONE_WAY);
        assertThat(tables.get(1).direction()).isEqualTo(TableRoute.Direction.TWO_WAY);
        assertThat(ok.sync().conflictWindow()).isEqualTo(Duration.ofSeconds(30));

        String bad = GOOD.replace("    password: ${ORDERS_PASSWORD}\n", "    password: ${ORDERS_PASSWORD}\n    direction: two-way\n")
                .replace("  - public.order_items", "  - {from: public.order_items, consistency: per-row, key: [id], columns: {id: null}, onError: skip}")
                + """
                  monolith:
                    url: jdbc:postgresql://127.0.0.1:5434/x
                    user: x
                    password: x
                    tables:
                      - {from: public.orders, to: public.o2, direction: two-way}
                """;
        assertThatThrownBy(() -> loader.parse(bad, "x"))
                .hasMessageContaining("services.orders.tables[0].where: a row filter cannot be inverted")
                .hasMessageContaining("services.orders.tables[1].consistency: two-way tables need consistency: transaction")
                .hasMessageContaining("services.orders.tables[1].columns.id: is part of key: and cannot be dropped in a two-way table")
                .hasMessageContaining("services.orders.tables[1].onError: ")
                .hasMessageContaining("services.monolith: 'monolith' names the monolith in topic names")
                .hasMessageContaining("services.monolith.tables[0].direction: makes public.orders two-way a second time");
    }

    @Test
    void theInverseOfARouteRenamesBackAndNeverCarriesDroppedColumnsOrTheVersion() {
        StranglerConfig ok = loader.parse(GOOD, "x");
        TableRoute inverse = ok.services().get("orders").tables().get(0).inverse();
        assertThat(inverse.from()).isEqualTo(TableId.parse("public.orders"));
        assertThat(inverse.targetColumn("note")).contains("order_note");
        assertThat(inverse.targetColumn("internal_flag")).contains("internal_flag");
        assertThat(inverse.targetColumn(TableRoute.VERSION_COLUMN)).isEmpty();
    }

    @Test
    void mariaDbMonolithsAndServicesAreAcceptedAndWhatIsNotBuiltWithThemIsRefusedSayingSo() {
        StranglerConfig ok = new ConfigLoader(k -> null, Path.of("/tmp")).parse("""
                monolith: {type: mariadb, url: "jdbc:mariadb://h:3306/shop", user: u}
                services:
                  orders: {url: "jdbc:postgresql://h/orders", user: u, tables: [shop.orders]}
                  billing: {type: mariadb, url: "jdbc:mariadb://h/billing", user: u, tables: [{from: shop.invoices, to: billing.invoices}]}
                """, "test");
        assertThat(ok.monolith().type()).isEqualTo(DatabaseType.MARIADB);
        assertThat(ok.services().get("billing").database().type()).isEqualTo(DatabaseType.MARIADB);
        assertThatThrownBy(() -> new ConfigLoader(k -> null, Path.of("/tmp")).parse("""
                monolith: {type: mariadb, url: "jdbc:postgresql://h/shop", user: u}
                capture: {snapshot: incremental}
                services:
                  orders: {type: mariadb, url: "jdbc:mariadb://h/orders", user: u, tables: [{from: shop.orders, direction: two-way}]}
                  audit: {type: mysql, url: "jdbc:mariadb://h/audit", user: u, tables: [shop.orders]}
                """, "test")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("monolith.url: a mariadb url starts with jdbc:mariadb://")
                .hasMessageContaining("two-way sync needs a PostgreSQL service database (a mariadb service is written one-way)")
                .hasMessageContaining("services.audit.url: a mysql url starts with jdbc:mysql://")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("capture.snapshot"))
                .hasMessageContaining("two-way sync needs a PostgreSQL monolith");
    }

    @Test
    void aCopyWithCopyIsAcceptedBetweenPostgresDatabasesForRoutesThatCarryRowsAsTheyAre() {
        StranglerConfig ok = new ConfigLoader(k -> null, Path.of("/tmp")).parse("""
                monolith: {url: "jdbc:postgresql://h/shop", user: u}
                capture: {snapshot: copy, copyChunkRows: 5000, copyThreads: 4, copyIndexMemory: 1GB}
                services:
                  orders: {url: "jdbc:postgresql://h/orders", user: u, tables: [{from: public.orders, where: "total > 0", columns: {note: null}}]}
                """, "test");
        assertThat(ok.capture().snapshot()).isEqualTo(CaptureSettings.SnapshotMode.COPY);
        assertThat(ok.capture().copyChunkRows()).isEqualTo(5000);
        assertThat(ok.capture().copyThreads()).isEqualTo(4);
        assertThat(ok.capture().copyIndexMemory()).isEqualTo("1GB");
        assertThatThrownBy(() -> new ConfigLoader(k -> null, Path.of("/tmp")).parse("""
                monolith: {url: "jdbc:postgresql://h/shop", user: u}
                capture: {snapshot: copy, copyChunkRows: 10, copyThreads: 0, copyIndexMemory: 256M}
                sync: {maskKey: "a key of sixteen characters"}
                services:
                  orders: {url: "jdbc:postgresql://h/orders", user: u, tables: [{from: public.orders, direction: two-way},
                           {from: public.customers, mask: {email: hash}}]}
                  billing: {type: mariadb, url: "jdbc:mariadb://h/billing", user: u, tables: [public.invoices]}
                """, "test")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("capture.copyChunkRows")
                .hasMessageContaining("capture.copyThreads")
                .hasMessageContaining("capture.copyIndexMemory: is a PostgreSQL size such as 256MB")
                .hasMessageContaining("copy does not copy into two-way tables")
                .hasMessageContaining("this route transforms them")
                .hasMessageContaining("copy needs PostgreSQL services; service billing is mariadb; use capture.snapshot: incremental or initial");
    }
}
