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
}
