package dev.strangler.cli;

import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.Component;
import dev.strangler.core.ComponentState;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Changes deleted from a topic (its retention) before Strangler read them: the writer (apply topic) and the sync
 * engine (cdc topics) stop and say so instead of skipping to what is left, and the way back operations.md gives
 * brings the service level again.
 */
class TopicRetentionIT extends SandboxTestBase {

    private static final String ROWS = "SELECT id, name FROM things ORDER BY id";

    @Test
    void recordsDeletedBeforeTheWriterWroteThemStopItSayingSoAndARecopyMendsTheService() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres);
             Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            h.givenMonolith("CREATE TABLE things (id bigint PRIMARY KEY, name text)",
                    "INSERT INTO things SELECT g, 'copied' FROM generate_series(1, 10) g");
            String config = h.config("- from: public.things").replace("capture:\n", "capture:\n  snapshot: copy\n");
            h.startStranglerWith(config);
            h.inMonolith("UPDATE things SET name = 'streamed' WHERE id = 1");
            h.awaitServiceMatchesMonolith(ROWS, ROWS, Duration.ofSeconds(60));
            h.stopStrangler();

            // the writer is down: the changes of this transaction wait in the apply topic, which then loses them
            h.inMonolith("INSERT INTO things SELECT g, 'lost' FROM generate_series(11, 20) g", "UPDATE things SET name = 'lost' WHERE id = 2",
                    "DELETE FROM things WHERE id = 5");
            TopicPartition apply = new TopicPartition(h.topicPrefix() + ".apply.svc", 0);
            long stored = h.count(h.serviceDb, "SELECT next_offset FROM strangler_offsets WHERE topic = '" + apply.topic() + "'");
            Component writer = deleteUnreadThenRestart(h, admin, config, Set.of(Pipeline.Part.CAPTURE, Pipeline.Part.SYNC_ENGINE),
                    apply, stored + 14, "writer");
            assertThat(writer.failure().orElseThrow())
                    .contains("no longer holds the records after the offsets stored in the service database")
                    .contains(apply.toString() + "=" + stored)
                    .contains("retention");
            assertThat(h.pipeline().healthy()).isFalse();
            // the retention the writer logs at start (a WARN below a day): the broker's default here, then the topic's own
            KafkaTopics topics = new KafkaTopics(h.pipeline().kafka());
            assertThat(topics.retentionMs(apply.topic())).isEqualTo(Duration.ofDays(7).toMillis());
            var resource = new ConfigResource(ConfigResource.Type.TOPIC, apply.topic());
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"),
                    AlterConfigOp.OpType.SET)))).all().get();
            assertThat(topics.retentionMs(apply.topic())).isEqualTo(3_600_000L);
            // nothing skipped silently: the writer kept its place and wrote nothing more
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM things")).isEqualTo(10);
            assertThat(h.count(h.serviceDb, "SELECT next_offset FROM strangler_offsets WHERE topic = '" + apply.topic() + "'")).isEqualTo(stored);
            h.stopStrangler();

            // the way back (operations.md): forget the writer's place and the copy, restart: the copy fills the rows
            // the service misses; validate finds the update and the delete that were lost, repair mends them
            h.givenService("DELETE FROM strangler_offsets WHERE topic = '" + apply.topic() + "'", "DELETE FROM strangler_copy");
            h.startStranglerWith(config);
            Awaitility.await().atMost(Duration.ofSeconds(60))
                    .until(() -> h.count(h.serviceDb, "SELECT count(*) FROM things WHERE id > 10") == 10);
            Path file = h.writeConfigText(config);
            CliResult drift = runCli("validate", "--config", file.toString(), "--table", "public.things");
            assertThat(drift.exitCode()).as(drift.stdout() + drift.stderr()).isEqualTo(1);
            CliResult repair = runCli("repair", "--config", file.toString(), "--table", "public.things");
            assertThat(repair.exitCode()).as(repair.stderr()).isZero();
            assertThat(repair.stdout()).contains("queued 2 repairs");
            h.inMonolith("UPDATE things SET name = 'after' WHERE id = 3");
            h.awaitServiceMatchesMonolith(ROWS, ROWS, Duration.ofSeconds(60));
        }
    }

    @Test
    void cdcRecordsDeletedBeforeTheSyncEngineReadThemStopItSayingSo() throws Exception {
        try (StranglerHarness h = new StranglerHarness(kafka, postgres);
             Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            h.givenMonolith("CREATE TABLE things (id bigint PRIMARY KEY, name text)", "INSERT INTO things VALUES (1, 'copied')");
            // the END of a transaction whose changes were deleted still comes: it is reported incomplete after this
            String config = h.config("- from: public.things").replace("sync:\n", "sync:\n  transactionTimeout: 2s\n");
            h.startStranglerWith(config);
            h.inMonolith("UPDATE things SET name = 'streamed' WHERE id = 1");
            h.awaitServiceMatchesMonolith(ROWS, ROWS, Duration.ofSeconds(60));
            h.stopStrangler();

            // only the capture runs: the changes wait in the cdc topic, which then loses them
            h.inMonolith("INSERT INTO things SELECT g, 'lost' FROM generate_series(2, 5) g");
            TopicPartition cdc = new TopicPartition(h.topicPrefix() + ".cdc.monolith.public.things", 0);
            String group = h.topicPrefix() + "-sync-engine";
            long committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(cdc).offset();
            Component engine = deleteUnreadThenRestart(h, admin, config, Set.of(Pipeline.Part.CAPTURE), cdc, committed + 4, "sync");
            long end = endOffset(admin, cdc);
            assertThat(engine.failure().orElseThrow())
                    .contains("the sync engine's input no longer holds records it had not read")
                    .contains(cdc + " committed " + committed + ", first record left " + end)
                    .contains("--reset-offsets --to-earliest");
            assertThat(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(cdc).offset()).isEqualTo(committed);
            h.stopStrangler();

            // the way back: the group moved to the first records left (as kafka-consumer-groups.sh does), then repair
            admin.alterConsumerGroupOffsets(group, Map.of(cdc, new OffsetAndMetadata(end))).all().get();
            h.startStranglerWith(config);
            h.inMonolith("INSERT INTO things VALUES (6, 'after')");
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> h.count(h.serviceDb, "SELECT count(*) FROM things WHERE id = 6") == 1);
            assertThat(h.count(h.serviceDb, "SELECT count(*) FROM things")).as("the lost inserts are not there").isEqualTo(2);
            Path file = h.writeConfigText(config);
            CliResult repair = runCli("repair", "--config", file.toString(), "--table", "public.things");
            assertThat(repair.exitCode()).as(repair.stderr()).isZero();
            h.awaitServiceMatchesMonolith(ROWS, ROWS, Duration.ofSeconds(60));
        }
    }

    /**
     * Runs {@code parts} until {@code topic} reaches {@code endAtLeast}, stops, deletes every record of the topic
     * (as its retention would), starts the whole data path and waits until the component named {@code component...}
     * has failed; returns it.
     */
    private static Component deleteUnreadThenRestart(StranglerHarness h, Admin admin, String config, Set<Pipeline.Part> parts,
                                                     TopicPartition topic, long endAtLeast, String component) throws Exception {
        h.startStranglerWith(config, parts);
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> endOffset(admin, topic) >= endAtLeast);
        h.stopStrangler();
        admin.deleteRecords(Map.of(topic, RecordsToDelete.beforeOffset(endOffset(admin, topic)))).all().get();
        h.startStranglerWith(config);
        Component failing = h.pipeline().components().stream().filter(c -> c.name().startsWith(component)).findFirst().orElseThrow();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> failing.state() == ComponentState.FAILED);
        return failing;
    }

    private static long endOffset(Admin admin, TopicPartition tp) throws Exception {
        return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
    }
}
