package dev.strangler.cli;

import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.EmbeddedKafka;

import java.util.Optional;

/** Where the admin commands reach the config's Kafka: its bootstrap servers, or the running embedded broker's address. */
final class KafkaAddress {

    private KafkaAddress() {
    }

    /** The bootstrap servers, or empty when the config's broker is embedded and not running (no process on its data dir). */
    static Optional<String> of(StranglerConfig config) {
        return config.kafka().embedded() ? EmbeddedKafka.runningAt(config.kafka().dataDir()) : Optional.of(config.kafka().bootstrap());
    }

    /**
     * The config's Kafka for an admin command.
     *
     * @throws IllegalStateException when the broker is embedded and no process runs it, saying what to do
     */
    static dev.strangler.connectors.KafkaEndpoint endpoint(StranglerConfig config) {
        String bootstrap = of(config).orElseThrow(() -> new IllegalStateException(
                "kafka.bootstrap is embedded and no embedded broker runs on " + config.kafka().dataDir()
                        + "; start 'strangler run' or 'strangler demo' with this config first, or point kafka.bootstrap at the cluster"));
        return new dev.strangler.connectors.KafkaEndpoint(bootstrap, config.kafka().clientProperties(), config.kafka().partitions(),
                config.kafka().replicationFactor());
    }
}
