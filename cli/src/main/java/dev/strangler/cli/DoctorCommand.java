package dev.strangler.cli;

import dev.strangler.connectors.StartupChecks;
import dev.strangler.core.Strings;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.ConfigProblem;
import dev.strangler.core.config.DatabaseSettings;
import dev.strangler.core.config.StranglerConfig;
import dev.strangler.core.TopicNames;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code strangler doctor}: checks everything a config needs and says how to fix each failure. */
@Command(name = "doctor", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Checks what the config needs, one line per check, with the fix for each failure: the monolith (reachable,",
                "wal_level, replication privilege, replication slot and publication), every mapped table (exists, has a key,",
                "columns), every service database, Kafka (reachable, control topics compacted). Changes nothing.",
                "Exit code 0: all pass (warnings allowed); 1: something fails; 2: the config itself is wrong."})
final class DoctorCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file (see docs/configuration.md).")
    Path config;

    @Spec
    CommandLine.Model.CommandSpec spec;

    enum Verdict { PASS, WARN, FAIL }

    record Check(Verdict verdict, String what, String fix) {
    }

    @Override
    public Integer call() {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        List<Check> checks = new ArrayList<>();
        checks.add(new Check(Verdict.PASS, "config " + config + " reads without problems", ""));
        monolith(loaded, checks);
        StartupChecks.Result startup = StartupChecks.run(loaded);
        List<ConfigProblem> problems = startup.problems();
        for (ConfigProblem p : problems) {
            checks.add(new Check(Verdict.FAIL, p.path(), p.message()));
        }
        if (problems.isEmpty()) {
            checks.add(new Check(Verdict.PASS, "every mapped table exists in the monolith with a primary key; every service database answers", ""));
        }
        kafka(loaded, checks);
        PrintWriter out = spec.commandLine().getOut();
        boolean colour = System.console() != null && System.getenv("NO_COLOR") == null;
        int failures = 0;
        int warnings = 0;
        for (Check c : checks) {
            String mark = switch (c.verdict()) {
                case PASS -> colour ? "\u001B[32m✓\u001B[0m" : "✓";
                case WARN -> colour ? "\u001B[33m!\u001B[0m" : "!";
                case FAIL -> colour ? "\u001B[31m✗\u001B[0m" : "✗";
            };
            out.println(mark + " " + c.what() + (c.fix().isEmpty() ? "" : "\n    " + c.fix()));
            failures += c.verdict() == Verdict.FAIL ? 1 : 0;
            warnings += c.verdict() == Verdict.WARN ? 1 : 0;
        }
        out.println(failures == 0 ? "all checks pass" + (warnings == 0 ? "" : " (" + warnings + " warnings)")
                : failures + " checks fail; fix them and run strangler doctor again");
        out.flush();
        return failures == 0 ? 0 : Main.EXIT_FAILED;
    }

    private static void monolith(StranglerConfig config, List<Check> checks) {
        DatabaseSettings db = config.monolith();
        if (db.type().binlog()) {
            try (Connection c = StartupChecks.connect(db)) {
                checks.add(new Check(Verdict.PASS, "monolith " + db.url() + " answers (MariaDB " + one(c, "SELECT version()") + ")", ""));
            } catch (SQLException e) {
                // StartupChecks reports the connection failure with its fix
            }
            return;
        }
        try (Connection c = StartupChecks.connect(db)) {
            checks.add(new Check(Verdict.PASS, "monolith " + db.url() + " answers (" + one(c, "SELECT split_part(version(), ' on ', 1)") + ")", ""));
            String slot = config.capture().slotName();
            try (PreparedStatement ps = c.prepareStatement("SELECT active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)),"
                    + " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots WHERE slot_name = ?")) {
                ps.setString(1, slot);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        checks.add(new Check(Verdict.PASS, "replication slot " + slot + " does not exist yet; capture creates it at its first start", ""));
                    } else if (!rs.getBoolean(1) && rs.getLong(3) > 1L << 30) {
                        checks.add(new Check(Verdict.WARN, "replication slot " + slot + " is inactive and holds " + rs.getString(2) + " of WAL",
                                "start capture (strangler run), or drop the slot if Strangler is gone for good: SELECT pg_drop_replication_slot('" + slot + "')"));
                    } else {
                        checks.add(new Check(Verdict.PASS, "replication slot " + slot + " exists (" + (rs.getBoolean(1) ? "active" : "inactive")
                                + ", holds " + rs.getString(2) + " of WAL)", ""));
                    }
                }
            }
            String publication = config.capture().publicationName();
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_publication WHERE pubname = ?")) {
                ps.setString(1, publication);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    checks.add(new Check(Verdict.PASS, "publication " + publication + (rs.getLong(1) == 0 ? " does not exist yet; capture creates it"
                            : " exists"), ""));
                }
            }
            long slotsFree = Long.parseLong(one(c, "SELECT current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)"));
            checks.add(new Check(slotsFree > 0 ? Verdict.PASS : Verdict.FAIL, "max_replication_slots leaves " + slotsFree + " free",
                    slotsFree > 0 ? "" : "raise it: ALTER SYSTEM SET max_replication_slots = 10; then restart PostgreSQL"));
        } catch (SQLException e) {
            // StartupChecks reports the connection failure with its fix
        }
    }

    private static void kafka(StranglerConfig config, List<Check> checks) {
        var address = KafkaAddress.of(config);
        if (address.isEmpty()) {
            checks.add(new Check(Verdict.PASS, "Kafka is embedded: strangler run starts it in its own process (data in "
                    + config.kafka().dataDir() + ")", ""));
            return;
        }
        String bootstrap = address.get();
        Map<String, Object> client = new java.util.HashMap<>(config.kafka().clientProperties());
        client.put("bootstrap.servers", bootstrap);
        client.put("request.timeout.ms", "10000");
        client.put("default.api.timeout.ms", "10000");
        try (Admin admin = Admin.create(client)) {
            int brokers = admin.describeCluster().nodes().get(15, TimeUnit.SECONDS).size();
            checks.add(new Check(brokers >= config.kafka().replicationFactor() ? Verdict.PASS : Verdict.FAIL,
                    "Kafka " + bootstrap + " answers with " + brokers + " broker(s)", brokers >= config.kafka().replicationFactor() ? ""
                    : "kafka.replicationFactor is " + config.kafka().replicationFactor() + "; lower it or add brokers"));
            TopicNames topics = config.topics();
            Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
            for (String compacted : List.of(topics.routes(), topics.validation(), topics.rules())) {
                if (!existing.contains(compacted)) {
                    checks.add(new Check(Verdict.PASS, "topic " + compacted + " does not exist yet; Strangler creates it compacted", ""));
                    continue;
                }
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, compacted);
                Config topicConfig = admin.describeConfigs(List.of(resource)).all().get(15, TimeUnit.SECONDS).get(resource);
                String policy = topicConfig.get("cleanup.policy").value();
                checks.add(new Check(policy.contains("compact") ? Verdict.PASS : Verdict.FAIL, "topic " + compacted + " has cleanup.policy=" + policy,
                        policy.contains("compact") ? "" : "it must be compacted (it holds the latest state per key): kafka-configs.sh --alter "
                                + "--entity-type topics --entity-name " + compacted + " --add-config cleanup.policy=compact"));
            }
        } catch (Exception e) {
            checks.add(new Check(Verdict.FAIL, "Kafka " + bootstrap + " does not answer: " + Strings.firstLine(String.valueOf(
                    e.getCause() == null ? e.getMessage() : e.getCause().getMessage())),
                    "check kafka.bootstrap and that the brokers are up and reachable from here"));
        }
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
