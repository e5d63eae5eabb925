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

    /** Base properties for any Kafka client: the config's {@code kafka.properties} and the bootstrap servers. */
    public Map<String, Object> clientConfig() {
        return clientConfig(Map.of());
    }

    /**
     * Properties for a client: Strangler's {@code defaults} for it, overridden by the config's
     * {@code kafka.properties} (so an operator can change compression, timeouts, security), and the
     * bootstrap servers.
     */
    public Map<String, Object> clientConfig(Map<String, Object> defaults) {
        Map<String, Object> config = new HashMap<>(defaults);
        config.putAll(clientProperties);
        config.put("bootstrap.servers", bootstrapServers);
        return config;
    }
}
