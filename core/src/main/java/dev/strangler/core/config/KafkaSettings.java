package dev.strangler.core.config;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where the Kafka cluster is. {@code bootstrap: embedded} starts an in-process broker whose log is
 * kept in {@link #dataDir()}, so a restart continues where the last run stopped.
 *
 * @param partitions        partitions of each cdc topic Strangler creates
 * @param replicationFactor replication factor of the topics Strangler creates
 * @param clientProperties  extra Kafka client properties (security, timeouts) given to every client
 */
public record KafkaSettings(String bootstrap, String topicPrefix, Path dataDir, int partitions,
                            short replicationFactor, Map<String, String> clientProperties) {

    public static final String EMBEDDED = "embedded";

    public boolean embedded() {
        return EMBEDDED.equals(bootstrap);
    }
}
