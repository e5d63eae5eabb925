package dev.strangler.connectors.internal;

import io.debezium.embedded.KafkaConnectUtil;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.KafkaOffsetBackingStore;
import org.apache.kafka.connect.util.SharedTopicAdmin;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The capture's offsets in a Kafka topic, as Debezium's {@code KafkaOffsetBackingStore}, with one difference: the
 * admin client it makes is closed when the store stops. The store Debezium's embedded engine makes for
 * {@code offset.storage=KafkaOffsetBackingStore} never closes its {@code debezium-servershared-admin}: each start of
 * the capture in a process left an admin client (a thread and its connections) behind. Named in the engine's
 * {@code offset.storage}; the engine makes it with this constructor, then configures, starts and stops it.
 */
public final class CaptureOffsetStore extends KafkaOffsetBackingStore {

    private final AtomicReference<SharedTopicAdmin> admin;

    public CaptureOffsetStore() {
        this(new AtomicReference<>());
    }

    private CaptureOffsetStore(AtomicReference<SharedTopicAdmin> admin) {
        super(() -> admin.get().get(), () -> "strangler-capture", KafkaConnectUtil.converterForOffsetStore());
        this.admin = admin;
    }

    @Override
    public void configure(WorkerConfig config) {
        Map<String, Object> adminConfig = new HashMap<>();
        config.originals().forEach((key, value) -> {
            if (AdminClientConfig.configNames().contains(key)) {
                adminConfig.put(key, value);
            }
        });
        // named after the offsets topic, which names the capture (prefix and origin)
        adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, config.originals().getOrDefault("offset.storage.topic", "strangler-capture") + "-admin");
        SharedTopicAdmin previous = admin.getAndSet(new SharedTopicAdmin(adminConfig));
        if (previous != null) {
            previous.close();
        }
        super.configure(config);
    }

    @Override
    public void stop() {
        try {
            super.stop();
        } finally {
            SharedTopicAdmin made = admin.getAndSet(null);
            if (made != null) {
                made.close();
            }
        }
    }
}
