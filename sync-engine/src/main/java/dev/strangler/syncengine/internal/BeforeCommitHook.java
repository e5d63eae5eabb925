package dev.strangler.syncengine.internal;

import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

import java.util.Map;

/**
 * A state store that holds nothing and runs a callback while Kafka Streams prepares each commit of
 * its task: after processing, before the task's produced records are flushed and its input offsets
 * committed (in the same Kafka transaction under exactly-once). Kafka Streams has no public hook at
 * that point; it flushes the caches of stores that implement its {@link CachedStateStore} interface
 * there, so this store implements it. The sequencer uses it to write to its changelogged store only
 * the transactions still pending at a commit, instead of every change as it arrives.
 *
 * <p>{@code CachedStateStore} is internal to Kafka Streams: {@code SequencerTopologyTest} checks that
 * the hook still runs before every commit, so a Kafka upgrade that changes this fails a test, not data.
 */
public final class BeforeCommitHook implements StateStore, CachedStateStore<Object, Object> {

    private final String name;
    private Runnable callback = () -> {
    };
    private boolean open;

    private BeforeCommitHook(String name) {
        this.name = name;
    }

    /** Runs {@code callback} before every commit of the task this store belongs to. */
    void onBeforeCommit(Runnable callback) {
        this.callback = callback;
    }

    @Override
    public void flushCache() {
        callback.run();
    }

    @Override
    public boolean setFlushListener(CacheFlushListener<Object, Object> listener, boolean sendOldValues) {
        return false;
    }

    @Override
    public void clearCache() {
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        context.register(root, (key, value) -> {
        });
        open = true;
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        open = false;
    }

    @Override
    public boolean persistent() {
        return false;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Builds the hook store; it has no changelog and no cache of its own. */
    public static StoreBuilder<BeforeCommitHook> builder(String name) {
        return new StoreBuilder<>() {
            @Override
            public StoreBuilder<BeforeCommitHook> withCachingEnabled() {
                return this;
            }

            @Override
            public StoreBuilder<BeforeCommitHook> withCachingDisabled() {
                return this;
            }

            @Override
            public StoreBuilder<BeforeCommitHook> withLoggingEnabled(Map<String, String> config) {
                throw new UnsupportedOperationException("the commit hook store holds nothing to log");
            }

            @Override
            public StoreBuilder<BeforeCommitHook> withLoggingDisabled() {
                return this;
            }

            @Override
            public BeforeCommitHook build() {
                return new BeforeCommitHook(name);
            }

            @Override
            public Map<String, String> logConfig() {
                return Map.of();
            }

            @Override
            public boolean loggingEnabled() {
                return false;
            }

            @Override
            public String name() {
                return name;
            }
        };
    }
}
