package dev.strangler.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.connectors.KafkaEndpoint;
import dev.strangler.connectors.KafkaTopics;
import dev.strangler.core.ConflictRule;
import dev.strangler.core.Json;
import dev.strangler.core.TableId;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.syncengine.RuleBook;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code strangler rules set|list|delete}: the conflict rules of two-way tables, on the compacted topic
 * {@code <prefix>.rules} (docs/two-way.md). The sync engine follows the topic, so a rule set here governs
 * the conflicts decided after it arrives, without a restart. A plain Kafka producer writing the same JSON
 * works the same way; {@code list} shows records that were rejected, with the reason.
 */
@Command(name = "rules", description = "Set, list or delete the conflict rules of two-way tables.",
        mixinStandardHelpOptions = true, subcommands = {RuleCommands.Set.class, RuleCommands.ListRules.class, RuleCommands.Delete.class})
final class RuleCommands implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Options every rules command shares. */
    abstract static class Base implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
        Path config;

        @Spec
        CommandLine.Model.CommandSpec spec;

        StranglerConfig loaded;

        KafkaEndpoint kafka() {
            loaded = ConfigLoader.fromEnvironment().load(config);
            KafkaEndpoint endpoint = KafkaAddress.endpoint(loaded);
            new KafkaTopics(endpoint).ensureCompacted(java.util.Set.of(loaded.topics().rules()));
            return endpoint;
        }

        void write(KafkaEndpoint kafka, String key, byte[] value) {
            Map<String, Object> config = kafka.clientConfig(Map.of("client.id", "strangler-rules-cli"));
            config.put("acks", "all");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(loaded.topics().rules(), key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("cannot write to " + loaded.topics().rules() + " on " + kafka.bootstrapServers() + ": " + e.getMessage(), e);
            }
        }

        /** A note when the key names no two-way table of the config: the rule is kept, but governs nothing yet. */
        void noteIfNotTwoWay(String key, PrintWriter out) {
            if (key.equals(RuleBook.ANY_TABLE)) {
                return;
            }
            boolean twoWay = loaded.services().values().stream().flatMap(s -> s.tables().stream())
                    .anyMatch(r -> r.twoWay() && r.from().equals(TableId.parse(key)));
            if (!twoWay) {
                out.println("note: " + key + " is not a two-way table in " + config + "; the rule takes effect once it is "
                        + "(direction: two-way)");
            }
        }

        @Override
        public Integer call() {
            try {
                return run(spec.commandLine().getOut());
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return Main.EXIT_FAILED;
            } finally {
                spec.commandLine().getOut().flush();
            }
        }

        abstract int run(PrintWriter out);
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Set the rule of a table (schema.table, as in the monolith) or of every table (*).")
    static final class Set extends Base {
        @Parameters(index = "0", paramLabel = "TABLE", description = "schema.table, or * for every table without its own rule") String key;
        @Option(names = "--strategy", required = true, description = "last-writer-wins, monolith-wins, service-wins, merge or custom") String strategy;
        @Option(names = "--column", paramLabel = "COLUMN=ORIGIN", description = "merge: which origin wins a column both changed (monolith, service, last-writer); repeatable")
        Map<String, String> columns = new LinkedHashMap<>();
        @Option(names = "--class", description = "custom: a class implementing dev.strangler.core.CustomConflictRule") String className;

        @Override
        int run(PrintWriter out) {
            ObjectNode node = Json.mapper().createObjectNode();
            node.put("strategy", strategy);
            if (!columns.isEmpty()) {
                ObjectNode c = node.putObject("columns");
                columns.forEach(c::put);
            }
            if (className != null) {
                node.put("class", className);
            }
            byte[] value = node.toString().getBytes(StandardCharsets.UTF_8);
            List<String> problems = new ArrayList<>();
            RuleBook.checkKey(key).ifPresent(problems::add);
            if (problems.isEmpty()) {
                // the same checks the sync engine makes, class loading included
                problems.addAll(new RuleBook(new SimpleMeterRegistry()).accept(key, value));
            }
            if (!problems.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "the rule for " + key + " is not valid: " + String.join("; ", problems));
            }
            KafkaEndpoint kafka = kafka();
            write(kafka, key, value);
            out.println("rule for " + key + ": " + ConflictRule.parse(value).rule().describe()
                    + " (written to " + loaded.topics().rules() + "; the sync engine applies it to conflicts decided from now on)");
            noteIfNotTwoWay(key, out);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the rules in force and the records that were rejected.")
    static final class ListRules extends Base {
        @Option(names = "--json", description = "Print JSON instead of a table.") boolean json;

        @Override
        int run(PrintWriter out) {
            KafkaEndpoint kafka = kafka();
            RuleBook book = new RuleBook(new SimpleMeterRegistry());
            new KafkaTopics(kafka).readToEnd(loaded.topics().rules(), r -> book.accept(
                    r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8), r.value()));
            List<RuleBook.Entry> entries = book.entries();
            if (json) {
                ArrayNode array = Json.mapper().createArrayNode();
                for (RuleBook.Entry e : entries) {
                    ObjectNode o = array.addObject();
                    o.put("key", e.key());
                    if (e.rule() != null) {
                        o.set("rule", readTree(e.rule().toBytes()));
                    }
                    if (e.rejected() != null) {
                        o.put("rejected", e.rejected());
                    }
                }
                out.println(array.toPrettyString());
                return 0;
            }
            if (entries.isEmpty()) {
                out.println("no rules on " + loaded.topics().rules() + ": every two-way table uses last-writer-wins");
                return 0;
            }
            out.printf("%-32s %-40s %s%n", "TABLE", "RULE IN FORCE", "LAST RECORD");
            for (RuleBook.Entry e : entries) {
                out.printf("%-32s %-40s %s%n", e.key(), e.rule() == null ? "(none: * or last-writer-wins)" : e.rule().describe(),
                        e.rejected() == null ? "ok" : "REJECTED: " + e.rejected());
            }
            return 0;
        }

        private static com.fasterxml.jackson.databind.JsonNode readTree(byte[] bytes) {
            try {
                return Json.mapper().readTree(bytes);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete the rule of a table (it falls back to the * rule, then last-writer-wins).")
    static final class Delete extends Base {
        @Parameters(index = "0", paramLabel = "TABLE") String key;

        @Override
        int run(PrintWriter out) {
            RuleBook.checkKey(key).ifPresent(p -> {
                throw new CommandLine.ParameterException(spec.commandLine(), p);
            });
            KafkaEndpoint kafka = kafka();
            write(kafka, key, null);
            out.println("rule for " + key + " deleted (a tombstone on " + loaded.topics().rules() + ")");
            return 0;
        }
    }
}
