package dev.strangler.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.router.ReplicationHealth;
import dev.strangler.router.TrafficRouter;
import dev.strangler.sandbox.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The router against nginx, with wrk on loopback, all in one run: (a) straight to the upstream, (b)
 * through the router at a 50% split, (c) through nginx as a plain reverse proxy to the same upstream, (d)
 * through {@link NettyFloorProxy}, the least a JVM HTTP proxy does (not a product: a floor for the router).
 * For each: the most requests per second wrk gets, and the latency at a fixed offered rate (about
 * 5,000 req/s); the latency a proxy adds is its figure minus the direct one measured in the same
 * round. Rounds alternate the targets, and medians are reported.
 */
@Command(name = "router", mixinStandardHelpOptions = true,
        description = {"Router throughput and added latency vs direct and vs nginx as a reverse proxy; needs wrk and nginx",
                "(apt-get install wrk nginx). Prints one JSON object."})
final class RouterBenchmark implements Callable<Integer> {

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds; each measures all three targets (medians are reported).")
    int rounds;

    @Option(names = "--seconds", defaultValue = "10", description = "Length of each wrk run.")
    int seconds;

    @Option(names = "--connections", defaultValue = "50", description = "wrk connections for the throughput runs.")
    int connections;

    @Option(names = "--rate", defaultValue = "5000", description = "Offered requests per second for the latency runs.")
    int rate;

    @Option(names = "--proxy-workers", defaultValue = "1", description = "Router event loops and nginx proxy workers (the same for both).")
    int workers;

    private final PrintStream progress = System.err;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        for (String tool : List.of("wrk", "nginx")) {
            if (!onPath(tool)) {
                progress.println("strangler bench router needs '" + tool + "' on the PATH; install it with: apt-get install wrk nginx");
                return 2;
            }
        }
        Path dir = Files.createTempDirectory("strangler-bench-router");
        Path script = dir.resolve("wrk-router.lua");
        try (InputStream in = RouterBenchmark.class.getResourceAsStream("/bench/wrk-router.lua")) {
            Files.copy(in, script);
        }
        int monolithPort = freePort();
        int servicePort = freePort();
        int nginxProxyPort = freePort();
        List<Process> processes = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary()) {
            processes.add(nginx(dir, "upstream", """
                    worker_processes 1;
                    events { worker_connections 4096; }
                    http {
                      access_log off;
                      server { listen 127.0.0.1:%d; location / { default_type application/json; return 200 '%s'; } }
                      server { listen 127.0.0.1:%d; location / { default_type application/json; return 200 '%s'; } }
                    }
                    """.formatted(monolithPort, body("monolith"), servicePort, body("service"))));
            processes.add(nginx(dir, "proxy", """
                    worker_processes %d;
                    events { worker_connections 4096; }
                    http {
                      access_log off;
                      upstream up { server 127.0.0.1:%d; keepalive 256; }
                      server { listen 127.0.0.1:%d; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
                    }
                    """.formatted(workers, monolithPort, nginxProxyPort)));
            awaitPort(monolithPort);
            awaitPort(servicePort);
            awaitPort(nginxProxyPort);

            String yaml = """
                    kafka: {bootstrap: '%s', topicPrefix: bench-router}
                    monolith: {url: 'jdbc:postgresql://127.0.0.1:1/unused', user: unused}
                    services: {orders: {url: 'jdbc:postgresql://127.0.0.1:1/unused', user: unused, tables: [public.orders]}}
                    router:
                      listen: {host: 127.0.0.1, port: 0}
                      admin: {host: 127.0.0.1, port: 0}
                      defaultUpstream: http://127.0.0.1:%d
                      eventLoops: %d
                      routes:
                        orders-read:
                          match: {pathPrefix: /api/orders}
                          service: http://127.0.0.1:%d
                          weight: 50%%
                          stickyKey: header:X-User-Id
                    """.formatted(kafka.bootstrapServers(), monolithPort, workers, servicePort);
            StranglerConfig config = new ConfigLoader(k -> null, dir).parse(yaml, "bench");
            TrafficRouter router = new TrafficRouter(config.router().orElseThrow(), new KafkaEndpoint(kafka.bootstrapServers(), Map.of(), 1, (short) 1),
                    config.topics().routes(), new SimpleMeterRegistry(), Clock.systemUTC(), ReplicationHealth.UNKNOWN, Duration.ofSeconds(1));
            router.start();
            int floorPort = freePort();
            try (NettyFloorProxy floor = new NettyFloorProxy(floorPort, monolithPort, servicePort, workers)) {
                Map<String, Integer> targets = new LinkedHashMap<>();
                targets.put("direct", monolithPort);
                targets.put("router", router.proxyPort());
                targets.put("nginx", nginxProxyPort);
                // not a product: the least a JVM HTTP proxy can do here (NettyFloorProxy), to tell the router's own cost from the JVM's
                targets.put("nettyFloor", floorPort);
                progress.println("warming up (JIT) ...");
                for (int port : targets.values()) {
                    wrk(script, port, connections, 5, 0);
                }
                Map<String, List<Double>> throughput = new LinkedHashMap<>();
                Map<String, List<Double>> achieved = new LinkedHashMap<>();
                Map<String, List<Double>> p50 = new LinkedHashMap<>();
                Map<String, List<Double>> p99 = new LinkedHashMap<>();
                List<ObjectNode> roundNodes = new ArrayList<>();
                int latencyConnections = 50;
                int delayMs = Math.max(1, latencyConnections * 1000 / rate);
                for (int round = 1; round <= rounds; round++) {
                    ObjectNode r = JSON.createObjectNode().put("round", round);
                    for (Map.Entry<String, Integer> t : targets.entrySet()) {
                        JsonNode max = wrk(script, t.getValue(), connections, seconds, 0);
                        JsonNode fixed = wrk(script, t.getValue(), latencyConnections, seconds, delayMs);
                        double rps = max.get("requests").asDouble() / (max.get("durationUs").asDouble() / 1e6);
                        double rateRps = fixed.get("requests").asDouble() / (fixed.get("durationUs").asDouble() / 1e6);
                        throughput.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(rps);
                        achieved.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(rateRps);
                        p50.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(fixed.get("p50Us").asDouble() / 1000);
                        p99.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(fixed.get("p99Us").asDouble() / 1000);
                        r.putObject(t.getKey()).put("maxRequestsPerSecond", Math.round(rps)).put("fixedRateRequestsPerSecond", Math.round(rateRps))
                                .put("p50Ms", fixed.get("p50Us").asDouble() / 1000).put("p99Ms", fixed.get("p99Us").asDouble() / 1000)
                                .put("errors", max.get("socketErrors").asLong() + max.get("non2xx").asLong()
                                        + fixed.get("socketErrors").asLong() + fixed.get("non2xx").asLong());
                        progress.println("round " + round + " " + t.getKey() + ": " + r.get(t.getKey()));
                    }
                    roundNodes.add(r);
                }
                ObjectNode out = JSON.createObjectNode();
                out.put("benchmark", "router");
                out.put("secondsPerRun", seconds);
                out.put("throughputConnections", connections);
                out.put("latencyRun", latencyConnections + " connections, " + delayMs + " ms pause between requests on each (offered ~" + rate + " req/s)");
                out.put("proxyWorkers", workers);
                ObjectNode medians = out.putObject("medians");
                for (String t : targets.keySet()) {
                    medians.putObject(t).put("maxRequestsPerSecond", Math.round(Stats.median(throughput.get(t))))
                            .put("fixedRateRequestsPerSecond", Math.round(Stats.median(achieved.get(t))))
                            .put("p50Ms", Stats.median(p50.get(t))).put("p99Ms", Stats.median(p99.get(t)));
                }
                ObjectNode added = out.putObject("addedLatencyMs");
                for (String t : List.of("router", "nginx", "nettyFloor")) {
                    List<Double> a50 = new ArrayList<>();
                    List<Double> a99 = new ArrayList<>();
                    for (int i = 0; i < rounds; i++) {
                        a50.add(p50.get(t).get(i) - p50.get("direct").get(i));
                        a99.add(p99.get(t).get(i) - p99.get("direct").get(i));
                    }
                    added.putObject(t).put("p50", Stats.median(a50)).put("p99", Stats.median(a99));
                }
                out.put("routerThroughputVsNginx", Math.round(Stats.median(throughput.get("router")) * 1000 / Stats.median(throughput.get("nginx"))) / 1000.0);
                out.put("nettyFloorThroughputVsNginx", Math.round(Stats.median(throughput.get("nettyFloor")) * 1000
                        / Stats.median(throughput.get("nginx"))) / 1000.0);
                out.set("rounds", JSON.valueToTree(roundNodes));
                System.out.println(out.toPrettyString());
            } finally {
                router.stop();
            }
        } finally {
            for (Process p : processes) {
                p.destroy();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        return 0;
    }

    private static String body(String side) {
        return "{\"id\":1,\"side\":\"" + side + "\",\"status\":\"shipped\",\"total\":\"129.90\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}]}";
    }

    private JsonNode wrk(Path script, int port, int conns, int secs, int delayMs) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("wrk", "-t1", "-c" + conns, "-d" + secs + "s", "-s", script.toString(),
                "http://127.0.0.1:" + port + "/api/orders/1");
        pb.environment().put("WRK_DELAY_MS", String.valueOf(delayMs));
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("wrk failed: " + out);
        }
        String json = out.lines().filter(l -> l.startsWith("{\"requests\"")).reduce((a, b) -> b)
                .orElseThrow(() -> new IllegalStateException("wrk printed no figures: " + out));
        return JSON.readTree(json);
    }

    private static Process nginx(Path dir, String name, String http) throws IOException {
        Path prefix = dir.resolve(name);
        Files.createDirectories(prefix.resolve("logs"));
        Path conf = prefix.resolve("nginx.conf");
        Files.writeString(conf, "daemon off;\npid " + prefix.resolve("nginx.pid") + ";\nerror_log " + prefix.resolve("logs/error.log") + " warn;\n"
                + http.replace("http {", "http {\n  client_body_temp_path " + prefix + "/body; proxy_temp_path " + prefix + "/proxy;\n"
                + "  fastcgi_temp_path " + prefix + "/fcgi; uwsgi_temp_path " + prefix + "/uwsgi; scgi_temp_path " + prefix + "/scgi;"));
        return new ProcessBuilder("nginx", "-p", prefix.toString(), "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(prefix.resolve("logs/stdout.log").toFile()).start();
    }

    private static void awaitPort(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }
        throw new IllegalStateException("nginx did not open port " + port + " in 10 s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
