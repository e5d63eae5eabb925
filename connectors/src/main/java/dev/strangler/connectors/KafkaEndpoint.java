package dev.strangler.connectors;

import java.util.HashMap;
import java.util.Map;

/**
 * A reachable Kafka cluster: resolved bootstrap servers (the embedded broker's address is only known
 * once it runs) plus the client properties from the config, and how to create topics on it.
 */
public record KafkaEndpoint(String bootstrapServers, Map<String, String> clientProperties, int partitions,
                            short replicationFactor) {

    public KafkaEndpoint {
        clientProperties = Map.copyOf(clientProperties);
    }

    /** Base properties for any Kafka client; callers add their own on top. */
    public Map<String, Object> clientConfig() {
        Map<String, Object> config = new HashMap<>(clientProperties);
        config.put("bootstrap.servers", bootstrapServers);
        return config;
    }
}
