package dev.strangler.sandbox;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * A single-node Kafka broker (KRaft, broker and controller in one) inside this JVM, on loopback ports.
 * With a persistent log directory it keeps its topics across restarts: the directory is formatted only
 * once, and a broker started again on it continues where the last one stopped.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** Where a persistent broker writes its address while it runs. */
    private static final String BOOTSTRAP_FILE = "bootstrap.servers";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final String CLUSTER_ID = "c3RyYW5nbGVyLXNhbmRib3g";

    private final KafkaRaftServer server;
    private final Path logDir;
    private final boolean temporary;
    private final String bootstrapServers;

    private EmbeddedKafka(KafkaRaftServer server, Path logDir, boolean temporary, String bootstrapServers) {
        this.server = server;
        this.logDir = logDir;
        this.temporary = temporary;
        this.bootstrapServers = bootstrapServers;
    }

    /** A broker whose log lives in a temporary directory deleted on {@link #close()}. */
    public static EmbeddedKafka startTemporary() {
        try {
            return start(Files.createTempDirectory("strangler-kafka"), true, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory for the embedded broker", e);
        }
    }

    /**
     * A broker keeping its log in {@code logDir} (created when missing).
     *
     * @param port the client port, or 0 for a free one
     */
    public static EmbeddedKafka startPersistent(Path logDir, int port) {
        return start(logDir, false, port);
    }

    private static EmbeddedKafka start(Path logDir, boolean temporary, int requestedPort) {
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the embedded broker's log directory " + logDir
                    + "; set kafka.dataDir to a writable directory", e);
        }
        // a port picked free can be taken before the broker binds it: then again with other ports (not a requested one)
        for (int attempt = 1; ; attempt++) {
            int port = requestedPort == 0 ? FreePorts.next() : requestedPort;
            try {
                return start(logDir, temporary, port, FreePorts.next());
            } catch (RuntimeException e) {
                if (attempt >= 3) {
                    throw e;
                }
                LOG.warn("embedded Kafka broker did not start on port {} ({}); trying other ports", port, e.getMessage());
            }
        }
    }

    private static EmbeddedKafka start(Path logDir, boolean temporary, int port, int controllerPort) {
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", logDir.toAbsolutePath().toString());
        props.put("num.partitions", "1");
        props.put("auto.create.topics.enable", "false");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "5");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "5");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
        props.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
        format(logDir, props);
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        try {
            server.startup();
        } catch (RuntimeException e) {
            try {
                server.shutdown();
                server.awaitShutdown();
            } catch (RuntimeException ignored) {
                // what started is stopped as far as it goes
            }
            throw e;
        }
        String bootstrap = "127.0.0.1:" + port;
        LOG.info("embedded Kafka broker on {} (log {})", bootstrap, logDir);
        if (!temporary) {
            try {
                Files.writeString(logDir.resolve(BOOTSTRAP_FILE), bootstrap);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + logDir.resolve(BOOTSTRAP_FILE), e);
            }
        }
        return new EmbeddedKafka(server, logDir, temporary, bootstrap);
    }

    /**
     * Formats the log directory once. Transactions use protocol version 1 (explicit AddPartitionsToTxn):
     * with version 2 on this single-node 4.1 broker, a Kafka Streams exactly-once producer under load
     * was seen stuck retrying OUT_OF_ORDER_SEQUENCE_NUMBER forever (the broker expected sequence 0 for a
     * transaction's first batch while later batches were in flight; see KAFKA-18202).
     */
    private static void format(Path logDir, Properties props) {
        Path configFile = logDir.resolve("server.properties");
        try {
            try (var out = Files.newBufferedWriter(configFile)) {
                props.store(out, "written by strangler sandbox");
            }
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            int rc = kafka.tools.StorageTool.execute(new String[]{"format", "-t", CLUSTER_ID, "-c", configFile.toString(),
                    "--ignore-formatted", "--feature", "transaction.version=1"}, new PrintStream(output, true, StandardCharsets.UTF_8));
            if (rc != 0) {
                throw new IllegalStateException("formatting the embedded broker's log directory " + logDir + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * The address of the persistent broker running on {@code logDir}, as it wrote it at start, for
     * commands run beside it (strangler rollback, cutover...); empty when none runs there.
     */
    public static java.util.Optional<String> runningAt(Path logDir) {
        Path file = logDir.resolve(BOOTSTRAP_FILE);
        try {
            return Files.exists(file) ? java.util.Optional.of(Files.readString(file).trim()) : java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    public Path logDir() {
        return logDir;
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
        try {
            Files.deleteIfExists(logDir.resolve(BOOTSTRAP_FILE));
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", logDir.resolve(BOOTSTRAP_FILE), e.toString());
        }
        if (temporary) {
            Directories.deleteRecursively(logDir);
        }
    }

}
