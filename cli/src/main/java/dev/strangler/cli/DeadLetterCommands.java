package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.ApplyRecord;
import dev.strangler.core.DeadLetter;
import dev.strangler.core.Json;
import dev.strangler.core.MalformedChangeException;
import dev.strangler.core.Strings;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code strangler dlq list|replay}: the dead-letter topic {@code <prefix>.dlq}. {@code replay} sends each
 * replayable letter back where it failed, once the operator fixed the cause: a row the service database
 * rejected to its apply topic (the writer applies it with its version guard, so a row that has since been
 * changed again is not set back), a change that could not be mapped to its cdc topic (outside its
 * source transaction). Each replayed record and a marker naming its letter are written in one Kafka
 * transaction, so a letter is replayed once; a replay that fails again makes a new letter.
 */
@Command(name = "dlq", description = "List the dead-letter topic, or replay its letters after fixing their cause.",
        mixinStandardHelpOptions = true, subcommands = {DeadLetterCommands.ListLetters.class, DeadLetterCommands.Replay.class})
final class DeadLetterCommands implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Options every dlq command shares. */
    abstract static class Base implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
        Path config;

        @Option(names = "--table", description = "Only letters of this table (schema.table, as the letter names it: "
                + "the service table for write failures, the monolith table for mapping failures).")
        String table;

        @Spec
        CommandLine.Model.CommandSpec spec;

        StranglerConfig loaded;
        KafkaEndpoint kafka;

        @Override
        public Integer call() {
            loaded = ConfigLoader.fromEnvironment().load(config);
            PrintWriter out = spec.commandLine().getOut();
            try {
                kafka = KafkaAddress.endpoint(loaded);
                new KafkaTopics(kafka).ensureLog(java.util.Set.of(loaded.topics().deadLetters()), 1);
                DeadLetterLog log = DeadLetterLog.read(new KafkaTopics(kafka), loaded.topics().deadLetters());
                return run(log, out);
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return Main.EXIT_FAILED;
            } finally {
                out.flush();
            }
        }

        boolean selected(DeadLetterLog.Item item) {
            return table == null || table.equals(item.letter().table());
        }

        abstract int run(DeadLetterLog log, PrintWriter out);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List dead letters not replayed yet (--all: every one).")
    static final class ListLetters extends Base {
        @Option(names = "--all", description = "Also list letters replayed already.") boolean all;
        @Option(names = "--json", description = "Print JSON, with each letter's original record.") boolean json;

        @Override
        int run(DeadLetterLog log, PrintWriter out) {
            List<DeadLetterLog.Item> items = (all ? log.all() : log.pending()).stream().filter(this::selected).toList();
            if (json) {
                ArrayNode array = Json.mapper().createArrayNode();
                for (DeadLetterLog.Item item : items) {
                    ObjectNode o = array.addObject();
                    o.put("dlqPartition", item.partition());
                    o.put("dlqOffset", item.offset());
                    o.put("replayed", item.replayed());
                    o.put("replayable", item.letter().stage().replayable());
                    try {
                        o.set("letter", Json.mapper().readTree(item.letter().toBytes()));
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
                out.println(array.toPrettyString());
                return 0;
            }
            if (items.isEmpty()) {
                out.println("no dead letters" + (all ? "" : " waiting") + (table == null ? "" : " for " + table) + " on " + loaded.topics().deadLetters());
                return 0;
            }
            out.printf("%-8s %-12s %-22s %-28s %-9s %s%n", "OFFSET", "STAGE", "COMPONENT", "TABLE", "REPLAYED", "REASON");
            for (DeadLetterLog.Item item : items) {
                DeadLetter l = item.letter();
                out.printf("%-8s %-12s %-22s %-28s %-9s %s%n", item.offset(), l.stage().label() + (l.stage().replayable() ? "" : "*"),
                        l.component(), l.table() == null ? "-" : l.table(), item.replayed() ? "yes" : "no", Strings.firstLine(l.reason()));
            }
            out.println("(* not replayable: the record itself is malformed, or the letter only reports an incomplete transaction)");
            return 0;
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = "Send the letters not replayed yet back where they failed (after fixing their cause).")
    static final class Replay extends Base {
        @Option(names = "--dry-run", description = "Say what would be replayed, and replay nothing.") boolean dryRun;

        @Override
        int run(DeadLetterLog log, PrintWriter out) {
            List<DeadLetterLog.Item> pending = log.pending().stream().filter(this::selected).toList();
            List<DeadLetterLog.Item> replayable = pending.stream().filter(i -> i.letter().stage().replayable()).toList();
            int skipped = pending.size() - replayable.size();
            if (replayable.isEmpty()) {
                out.println("nothing to replay" + (table == null ? "" : " for " + table)
                        + (skipped > 0 ? " (" + skipped + " letters are not replayable; see strangler dlq list)" : ""));
                return 0;
            }
            for (DeadLetterLog.Item item : replayable) {
                out.println((dryRun ? "would replay " : "replaying ") + "offset " + item.offset() + " (" + item.letter().stage().label()
                        + ", " + (item.letter().table() == null ? "-" : item.letter().table()) + ") to " + item.letter().topic());
            }
            if (dryRun) {
                out.println(replayable.size() + " letters would be replayed; nothing was sent (--dry-run)");
                return 0;
            }
            Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-dlq-replay"));
            config.put("transactional.id", loaded.topics().prefix() + "-dlq-replay");
            config.put("acks", "all");
            config.put("max.request.size", String.valueOf(KafkaTopics.MAX_RECORD_BYTES));
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.initTransactions();
                producer.beginTransaction();
                String at = Instant.now().toString();
                for (DeadLetterLog.Item item : replayable) {
                    DeadLetter l = item.letter();
                    producer.send(new ProducerRecord<>(l.topic(), l.originalKey(), replayValue(l)));
                    producer.send(new ProducerRecord<>(loaded.topics().deadLetters(), l.originalKey(),
                            new DeadLetter.Replay(item.partition(), item.offset(), l.topic(), at).toBytes()));
                }
                producer.commitTransaction();
            } catch (RuntimeException e) {
                throw new IllegalStateException("replay failed, nothing was replayed (the Kafka transaction is aborted): " + e.getMessage(), e);
            }
            out.println(replayable.size() + " letters replayed" + (skipped > 0 ? "; " + skipped + " not replayable" : "")
                    + ". A letter that fails again comes back as a new letter.");
            return 0;
        }

        /**
         * What goes back: a rejected row on its own (outside the source transaction it was part of, whose other
         * rows are applied already); a change without its transaction block, so it is not held for an END that
         * came long ago.
         */
        private static byte[] replayValue(DeadLetter letter) {
            if (letter.stage() == DeadLetter.Stage.WRITE) {
                try {
                    return ApplyRecord.fromBytes(letter.originalValue()).standalone().toBytes();
                } catch (MalformedChangeException e) {
                    return letter.originalValue();
                }
            }
            try {
                var envelope = Json.mapper().readTree(letter.originalValue());
                if (envelope instanceof ObjectNode o) {
                    o.remove("transaction");
                    return Json.mapper().writeValueAsBytes(o);
                }
                return letter.originalValue();
            } catch (IOException e) {
                return letter.originalValue();
            }
        }
    }
}
