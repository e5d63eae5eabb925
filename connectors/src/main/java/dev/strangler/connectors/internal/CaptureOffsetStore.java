package dev.strangler.connectors.internal;

import io.debezium.embedded.KafkaConnectUtil;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.KafkaOffsetBackingStore;
import org.apache.kafka.connect.util.SharedTopicAdmin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The capture's offsets in a Kafka topic, as Debezium's {@code KafkaOffsetBackingStore}, with one difference: the
 * admin client it makes is closed when the store stops. The store Debezium's embedded engine makes for
 * {@code offset.storage=KafkaOffsetBackingStore} never closes its {@code debezium-servershared-admin}: each start of
 * the capture in a process left an admin client (a thread and its connections) behind. Named in the engine's
 * {@code offset.storage}; the engine makes it with this constructor, then configures, starts and stops it.
 */
public final class CaptureOffsetStore extends KafkaOffsetBackingStore {

    private static final Logger LOG = LoggerFactory.getLogger(CaptureOffsetStore.class);
    /** The stores configured and not stopped, by offsets topic: the engine does not stop one if closed while it initializes. */
    private static final ConcurrentHashMap<String, CaptureOffsetStore> OPEN = new ConcurrentHashMap<>();

    private final AtomicReference<SharedTopicAdmin> admin;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private volatile String offsetsTopic = "";

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
        offsetsTopic = String.valueOf(config.originals().getOrDefault("offset.storage.topic", "strangler-capture"));
        // named after the offsets topic, which names the capture (prefix and origin)
        adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, offsetsTopic + "-admin");
        OPEN.put(offsetsTopic, this);
        SharedTopicAdmin previous = admin.getAndSet(new SharedTopicAdmin(adminConfig));
        if (previous != null) {
            previous.close();
        }
        super.configure(config);
    }

    @Override
    public void stop() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        try {
            super.stop();
        } finally {
            SharedTopicAdmin made = admin.getAndSet(null);
            if (made != null) {
                made.close();
            }
            OPEN.remove(offsetsTopic, this);
        }
    }

    /**
     * Stops the store of this offsets topic if the engine left it running: Debezium's engine, closed while it
     * initializes, fails its next step and never stops the offset store it had started (its consumer, producer and
     * admin client stay). Called by the capture once its engine's thread has ended.
     */
    public static void stopLeftBehind(String offsetsTopic) {
        CaptureOffsetStore left = OPEN.get(offsetsTopic);
        if (left == null) {
            return;
        }
        LOG.info("the offset store of {} was left running by the engine's stop; stopping it", offsetsTopic);
        try {
            left.stop();
        } catch (RuntimeException e) {
            LOG.warn("the offset store of {} did not stop cleanly: {}", offsetsTopic, e.toString());
        }
    }
}
