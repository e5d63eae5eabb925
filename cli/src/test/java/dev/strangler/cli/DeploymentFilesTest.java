package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml and k8s/ cannot be started on machines without Docker or a cluster; this checks what
 * can be checked without them: they parse, and everything they name (files, --services parts, ports,
 * probes, topics, config keys) exists in the code and the config they ship.
 */
class DeploymentFilesTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Set<String> PARTS = Arrays.stream(Pipeline.Part.values()).map(Pipeline.Part::cliName).collect(Collectors.toSet());

    private static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).readValues(Files.readString(file))) {
            while (it.hasNext()) {
                JsonNode doc = (JsonNode) it.next();
                if (doc != null && !doc.isNull() && !doc.isEmpty()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    private static StranglerConfig load(Path file, Map<String, String> env) {
        return new ConfigLoader(env::get, ROOT).load(file);
    }

    private static void assertParts(String services, String where) {
        for (String part : services.split(",")) {
            assertThat(PARTS).as("--services part '%s' in %s", part, where).contains(part);
        }
    }

    @Test
    void theComposeStackNamesOnlyWhatExists() throws IOException {
        JsonNode compose = documents(ROOT.resolve("docker-compose.yml")).get(0);
        JsonNode services = compose.get("services");
        assertThat(services.has("kafka") && services.has("monolith-db") && services.has("prometheus") && services.has("grafana")).isTrue();
        assertThat(services.get("monolith-db").get("command").toString()).contains("wal_level=logical");
        int stranglers = 0;
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) services::fields) {
            JsonNode s = e.getValue();
            for (JsonNode volume : s.path("volumes")) {
                String host = volume.asText().split(":")[0];
                assertThat(ROOT.resolve(host).normalize()).as("volume of %s", e.getKey()).exists();
            }
            for (JsonNode dependency : s.path("depends_on")) {
                assertThat(services.has(dependency.asText())).as("%s depends on %s", e.getKey(), dependency.asText()).isTrue();
            }
            if (!s.has("build")) {
                continue;
            }
            stranglers++;
            List<String> command = new ArrayList<>();
            s.get("command").forEach(c -> command.add(c.asText()));
            assertThat(command.get(0)).isEqualTo("run");
            assertParts(command.get(command.indexOf("--services") + 1), e.getKey());
            Map<String, String> env = new HashMap<>();
            s.path("environment").fields().forEachRemaining(v -> env.put(v.getKey(), v.getValue().asText()));
            StranglerConfig config = load(ROOT.resolve("deploy/compose/strangler.yaml"), env);
            List<String> ports = new ArrayList<>();
            s.path("ports").forEach(p -> ports.add(p.asText().split(":")[1]));
            assertThat(ports).as("ports of %s", e.getKey()).contains(String.valueOf(config.http().port()));
            if (command.contains("router")) {
                assertThat(ports).contains(String.valueOf(config.router().orElseThrow().listen().port()),
                        String.valueOf(config.router().orElseThrow().admin().port()));
                for (var route : config.router().orElseThrow().routes()) {
                    assertThat(services.has(route.service().getHost())).as("upstream %s", route.service()).isTrue();
                }
                for (var source : config.router().orElseThrow().lagFrom()) {
                    assertThat(services.has(source.getHost())).as("lagFrom %s", source).isTrue();
                    assertThat(source.getPort()).isEqualTo(config.http().port());
                }
            }
            assertThat(services.has(config.kafka().bootstrap().split(":")[0])).isTrue();
            assertThat(services.has(config.monolith().url().replaceAll("jdbc:postgresql://([^:/]+).*", "$1"))).isTrue();
        }
        assertThat(stranglers).isEqualTo(3);
        String prometheus = Files.readString(ROOT.resolve("deploy/compose/prometheus.yml"));
        for (String target : List.of("strangler-data:8080", "strangler-validator:8080", "strangler-router:8080")) {
            assertThat(prometheus).contains(target);
            assertThat(services.has(target.split(":")[0])).isTrue();
        }
        assertThat(Files.readString(ROOT.resolve("Dockerfile"))).contains("dev.strangler.cli.Main", "cli/target/lib");
        assertThat(Main.class.getName()).isEqualTo("dev.strangler.cli.Main");
    }

    @Test
    void theKubernetesBaseNamesOnlyWhatExists() throws IOException {
        Path k8s = ROOT.resolve("k8s");
        JsonNode kustomization = documents(k8s.resolve("kustomization.yaml")).get(0);
        Map<String, String> env = new HashMap<>();
        documents(k8s.resolve("secret.yaml")).get(0).get("stringData").fields().forEachRemaining(v -> env.put(v.getKey(), v.getValue().asText()));
        StranglerConfig config = load(k8s.resolve("strangler.yaml"), env);
        int deployments = 0;
        for (JsonNode resource : kustomization.get("resources")) {
            Path file = k8s.resolve(resource.asText());
            assertThat(file).exists();
            for (JsonNode doc : documents(file)) {
                assertThat(doc.has("apiVersion") && doc.has("kind")).as(file.toString()).isTrue();
                if (doc.get("kind").asText().equals("Deployment")) {
                    deployments++;
                    JsonNode container = doc.at("/spec/template/spec/containers/0");
                    List<String> args = new ArrayList<>();
                    container.get("args").forEach(a -> args.add(a.asText()));
                    assertParts(args.get(args.indexOf("--services") + 1), file.toString());
                    assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/health");
                    assertThat(container.at("/readinessProbe/httpGet/port").asInt()).isEqualTo(config.http().port());
                    assertThat(container.at("/livenessProbe/httpGet/port").asInt()).isEqualTo(config.http().port());
                    assertThat(doc.at("/spec/template/metadata/annotations/prometheus.io~1port").asText())
                            .isEqualTo(String.valueOf(config.http().port()));
                    assertThat(container.at("/resources/requests").has("cpu")).isTrue();
                    if (args.contains("capture") || args.contains("writer")) {
                        assertThat(doc.at("/spec/replicas").asInt()).as("%s runs once", file).isEqualTo(1);
                    }
                    if (args.contains("router")) {
                        List<Integer> ports = new ArrayList<>();
                        container.get("ports").forEach(p -> ports.add(p.get("containerPort").asInt()));
                        assertThat(ports).contains(config.router().orElseThrow().listen().port(), config.router().orElseThrow().admin().port());
                    }
                }
                if (doc.get("kind").asText().equals("KafkaTopic")) {
                    TopicNames topics = config.topics();
                    String name = doc.at("/metadata/name").asText();
                    assertThat(name).isIn(topics.routes(), topics.validation(), topics.rules(), topics.deadLetters());
                    String policy = doc.at("/spec/config/cleanup.policy").asText();
                    assertThat(policy).isEqualTo(name.equals(topics.deadLetters()) ? "delete" : "compact");
                }
            }
        }
        assertThat(deployments).isEqualTo(5);
        for (var source : config.router().orElseThrow().lagFrom()) {
            assertThat(k8s.resolve(source.getHost().replace("strangler-", "") + ".yaml")).as("lagFrom %s is a Service of this base", source).exists();
            assertThat(source.getPort()).isEqualTo(config.http().port());
        }
        for (JsonNode generator : kustomization.get("configMapGenerator")) {
            generator.get("files").forEach(f -> assertThat(k8s.resolve(f.asText())).exists());
        }
    }
}
