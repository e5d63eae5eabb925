package dev.strangler.cli;

import dev.strangler.connectors.JdbcApplyWriter;
import dev.strangler.core.Strings;
import dev.strangler.core.TopicNames;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ServiceSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.sandbox.Directories;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code strangler reset}: removes what a fresh start needs gone, after saying exactly what. */
@Command(name = "reset", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Removes what a fresh start needs gone, after listing it and asking for a confirmation (or --yes):",
                "  whole deployment: the monolith's replication slot and publication, Strangler's Kafka topics (change, transaction,",
                "  sequencer, apply, dead-letter, capture offsets, the sync engine's internal topics) and consumer groups, the",
                "  writer's bookkeeping tables in every service database (strangler_offsets, strangler_parked), the sync state dir;",
                "  --service S: only S's writer offsets and parked rows (its writer then re-reads its apply topic from the start).",
                "Kept: the rows in the service tables, and the control topics (routes, rules, validation) unless",
                "--include-control-topics. Stop every Strangler process of this config first.",
                "Exit code 0: done (or nothing to do); 1: failed; 2: bad usage or not confirmed."})
final class ResetCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
    Path config;

    @Option(names = "--service", description = "Reset only this service's writer.")
    String service;

    @Option(names = "--dry-run", description = "List what would be removed; remove nothing.")
    boolean dryRun;

    @Option(names = "--yes", description = "Do not ask for a confirmation (scripts).")
    boolean yes;

    @Option(names = "--include-control-topics", description = "Also delete the routes, rules and validation topics (weights and rules are lost).")
    boolean includeControlTopics;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        PrintWriter out = spec.commandLine().getOut();
        TopicNames topics = loaded.topics();
        List<ServiceSettings> services = loaded.serviceList();
        if (service != null) {
            services = services.stream().filter(s -> s.name().equals(service)).toList();
            if (services.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "no service '" + service + "' in the config; services: "
                        + String.join(", ", loaded.services().keySet()));
            }
        }
        List<String> plan = new ArrayList<>();
        Set<String> deleteTopics = new TreeSet<>();
        Set<String> deleteGroups = new TreeSet<>();
        Map<String, Object> kafkaClient = null;
        boolean whole = service == null;
        if (whole) {
            plan.add(loaded.monolith().type().binlog()
                    ? "monolith (MariaDB/MySQL): the initial copy's signal row in strangler_signal; its binlog position and schema history go with the prefix's topics"
                    : "monolith: drop replication slot " + loaded.capture().slotName() + " and publication " + loaded.capture().publicationName()
                    + " (if they exist), and the slot's initial-copy signal in public.strangler_signal (so that a fresh start copies again)");
            kafkaClient = kafkaClient(loaded);
            if (kafkaClient != null) {
                try (Admin admin = Admin.create(kafkaClient)) {
                    Set<String> keep = includeControlTopics ? Set.of() : Set.of(topics.routes(), topics.rules(), topics.validation());
                    for (String topic : admin.listTopics().names().get(30, TimeUnit.SECONDS)) {
                        if ((topic.startsWith(topics.prefix() + ".") || topic.startsWith(topics.syncApplicationId() + "-")) && !keep.contains(topic)) {
                            deleteTopics.add(topic);
                        }
                    }
                    for (ConsumerGroupListing group : admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS)) {
                        if (group.groupId().startsWith(topics.prefix())) {
                            deleteGroups.add(group.groupId());
                        }
                    }
                }
                deleteTopics.forEach(t -> plan.add("kafka: delete topic " + t));
                deleteGroups.forEach(g -> plan.add("kafka: delete consumer group " + g));
            } else {
                plan.add("kafka: embedded and not running; its data directory " + loaded.kafka().dataDir() + " is deleted instead");
            }
            if (Files.exists(loaded.sync().stateDir())) {
                plan.add("local: delete the sync engine's state directory " + loaded.sync().stateDir());
            }
        }
        List<ServiceSettings> twoWay = services.stream().filter(s -> s.tables().stream().anyMatch(r -> r.twoWay())).toList();
        for (ServiceSettings s : twoWay) {
            var capture = Pipeline.serviceCapture(loaded, s.name());
            if (whole) {
                plan.add("service " + s.name() + " (two-way): drop replication slot " + capture.slotName() + " and publication "
                        + capture.publicationName() + " (if they exist) and the table strangler_origin");
            }
            plan.add("monolith (two-way, writer " + topics.writerName(TopicNames.monolithTarget(s.name())) + "): " + (whole
                    ? "drop tables strangler_offsets, strangler_parked and strangler_origin; monolith tables keep their rows"
                    : "delete the writer's offsets and parked rows"));
        }
        for (ServiceSettings s : services) {
            plan.add("service " + s.name() + ": " + (whole ? "drop tables strangler_offsets and strangler_parked, and mark the rows of "
                    + s.tables().stream().map(r -> r.to().toString()).toList() + " older than any new copy (strangler_version = -1)"
                    : "delete the writer's offsets and parked rows (writer " + topics.writerName(s.name()) + ")")
                    + " in " + s.database().url() + "; its tables keep their rows"
                    + (loaded.capture().snapshot() == dev.strangler.core.config.CaptureSettings.SnapshotMode.COPY
                    && s.database().type() == dev.strangler.core.config.DatabaseType.POSTGRES
                    ? " (indexes and keys an unfinished copy dropped are built again first)" : ""));
        }
        out.println((dryRun ? "Would remove (dry run, nothing changes):" : "Will remove:"));
        plan.forEach(p -> out.println("  - " + p));
        out.flush();
        if (dryRun) {
            return 0;
        }
        if (!yes) {
            if (System.console() == null) {
                spec.commandLine().getErr().println("not confirmed: run it in a terminal to answer the question, or add --yes");
                return Main.EXIT_CONFIG;
            }
            String answer = System.console().readLine("Type the topic prefix '%s' to confirm: ", topics.prefix());
            if (!topics.prefix().equals(answer == null ? "" : answer.trim())) {
                spec.commandLine().getErr().println("not confirmed; nothing was removed");
                return Main.EXIT_CONFIG;
            }
        }
        List<String> failures = new ArrayList<>();
        for (ServiceSettings s : twoWay) {
            var capture = Pipeline.serviceCapture(loaded, s.name());
            if (whole) {
                try (Connection c = dev.strangler.connectors.StartupChecks.connect(s.database())) {
                    dropSlotAndPublication(c, capture.slotName(), capture.publicationName(), failures);
                    try (var st = c.createStatement()) {
                        st.execute("DROP TABLE IF EXISTS public.strangler_origin");
                    }
                } catch (SQLException e) {
                    failures.add("service " + s.name() + ": " + Strings.firstLine(e.getMessage()));
                }
            }
            try (Connection c = dev.strangler.connectors.StartupChecks.connect(loaded.monolith()); var st = c.createStatement()) {
                if (whole) {
                    st.execute("DROP TABLE IF EXISTS strangler_offsets, strangler_parked, public.strangler_origin");
                } else {
                    deleteWriterRows(st, topics.writerName(TopicNames.monolithTarget(s.name())));
                }
            } catch (SQLException e) {
                failures.add("monolith: " + Strings.firstLine(e.getMessage()));
            }
        }
        boolean mariadb = loaded.monolith().type().binlog();
        if (whole && mariadb) {
            try {
                // the signalling table's row of the initial incremental copy: a fresh start copies again
                dev.strangler.connectors.BinlogCapture.forgetInitialCopy(loaded.monolith(), loaded.capturedTables(), loaded.capture());
            } catch (SQLException e) {
                failures.add("monolith: " + Strings.firstLine(e.getMessage()));
            }
        }
        if (whole && !mariadb) {
            try (Connection c = dev.strangler.connectors.StartupChecks.connect(loaded.monolith())) {
                dropSlotAndPublication(c, loaded.capture().slotName(), loaded.capture().publicationName(), failures);
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM public.strangler_signal WHERE id = ?")) {
                    ps.setString(1, dev.strangler.connectors.PostgresCapture.initialCopySignalId(loaded.capture()));
                    ps.executeUpdate();
                } catch (SQLException e) {
                    if (!"42P01".equals(e.getSQLState())) {
                        throw e;
                    }
                }
            } catch (SQLException e) {
                failures.add("monolith: " + Strings.firstLine(e.getMessage()));
            }
            if (kafkaClient != null) {
                try (Admin admin = Admin.create(kafkaClient)) {
                    for (String group : deleteGroups) {
                        // the sync engine uses static membership: its stopped members stay in the group until their
                        // session times out, so they are removed first (all processes were stopped, as the help says)
                        var members = admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group).members();
                        if (members.stream().anyMatch(m -> m.groupInstanceId().isEmpty())) {
                            failures.add("consumer group " + group + " has running members " + members.stream().map(m -> m.host()).toList()
                                    + ": stop every Strangler process of this config first");
                            continue;
                        }
                        if (!members.isEmpty()) {
                            admin.removeMembersFromConsumerGroup(group, new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions())
                                    .all().get(30, TimeUnit.SECONDS);
                        }
                        admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
                    }
                    if (!deleteTopics.isEmpty()) {
                        admin.deleteTopics(deleteTopics).all().get(60, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    failures.add("kafka: " + Strings.firstLine(String.valueOf(e.getCause() == null ? e : e.getCause())));
                }
            } else if (Files.exists(loaded.kafka().dataDir())) {
                Directories.deleteRecursively(loaded.kafka().dataDir());
            }
            if (Files.exists(loaded.sync().stateDir())) {
                Directories.deleteRecursively(loaded.sync().stateDir());
            }
        }
        for (ServiceSettings s : services) {
            try (Connection c = dev.strangler.connectors.StartupChecks.connect(s.database()); var st = c.createStatement()) {
                if (s.database().type() == dev.strangler.core.config.DatabaseType.POSTGRES) {
                    // an unfinished copy may have dropped indexes and keys to build them at its end; the progress table
                    // that keeps their definitions is about to be forgotten
                    List<String> mended = JdbcApplyWriter.buildWhatCopiesDropped(c,
                            whole ? java.util.Optional.empty() : java.util.Optional.of(topics.writerName(s.name())));
                    if (!mended.isEmpty()) {
                        out.println("service " + s.name() + ": built again the indexes and keys an unfinished copy had dropped from " + mended);
                    }
                }
                if (whole) {
                    st.execute("DROP TABLE IF EXISTS strangler_offsets, strangler_parked, strangler_copy");
                    // the next initial copy gives its rows version 0, which never overwrites a streamed version: without
                    // this, rows changed while Strangler was stopped would keep their old values
                    JdbcApplyWriter.forgetVersions(s, c);
                } else {
                    deleteWriterRows(st, topics.writerName(s.name()));
                }
            } catch (SQLException e) {
                failures.add("service " + s.name() + ": " + Strings.firstLine(e.getMessage()));
            }
        }
        if (!failures.isEmpty()) {
            failures.forEach(f -> spec.commandLine().getErr().println("could not reset: " + f));
            return Main.EXIT_FAILED;
        }
        out.println("done: the next 'strangler run' starts fresh" + (whole ? " (a new initial copy of every table; rows deleted in the monolith"
                + " meanwhile stay in the service until 'strangler repair', the validator reports them as extra)" : ""));
        out.flush();
        return 0;
    }

    /** A writer's stored offsets, parked rows and copy progress ({@code capture.snapshot: copy}), in whichever database (a table not there yet: nothing to delete). */
    private static void deleteWriterRows(java.sql.Statement st, String writerName) throws SQLException {
        for (String table : List.of("strangler_offsets", "strangler_parked", "strangler_copy")) {
            try (PreparedStatement ps = st.getConnection().prepareStatement("DELETE FROM " + table + " WHERE writer = ?")) {
                ps.setString(1, writerName);
                ps.executeUpdate();
            } catch (SQLException e) {
                // 42P01: PostgreSQL's undefined table; 42S02: MariaDB's
                if (!"42P01".equals(e.getSQLState()) && !"42S02".equals(e.getSQLState())) {
                    throw e;
                }
            }
        }
    }

    private static void dropSlotAndPublication(Connection c, String slot, String publication, List<String> failures) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    if (rs.getBoolean(1)) {
                        failures.add("replication slot " + slot + " is in use: stop the capture first");
                    } else {
                        try (PreparedStatement drop = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                            drop.setString(1, slot);
                            drop.execute();
                        }
                    }
                }
            }
        }
        try (var st = c.createStatement()) {
            st.execute("DROP PUBLICATION IF EXISTS " + publication);
        }
    }

    private Map<String, Object> kafkaClient(StranglerConfig loaded) {
        var address = KafkaAddress.of(loaded);
        if (address.isEmpty()) {
            return null;
        }
        String bootstrap = address.get();
        Map<String, Object> client = new HashMap<>(loaded.kafka().clientProperties());
        client.put("bootstrap.servers", bootstrap);
        client.put("default.api.timeout.ms", "30000");
        return client;
    }
}
