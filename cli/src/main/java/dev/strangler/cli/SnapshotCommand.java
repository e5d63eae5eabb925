package dev.strangler.cli;

import dev.strangler.connectors.PostgresCapture;
import dev.strangler.core.Strings;
import dev.strangler.core.TableId;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code strangler snapshot --table T}: copies a table's existing rows again, in chunks, while changes keep
 * flowing (for a table added to the config after the initial copy, or to re-copy one). It writes a Debezium
 * {@code execute-snapshot} signal into the monolith's {@code public.strangler_signal}; the running capture
 * picks it up from the stream and resumes it after a restart from the last finished chunk.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = {"Copy the existing rows of tables again, in chunks, while changes keep flowing (an incremental snapshot).",
                "The tables must be in the config and the capture running (strangler run) with that config."})
final class SnapshotCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "The YAML config file.")
    Path config;

    @Option(names = "--table", required = true, description = "A monolith table (schema.table) the config captures; repeatable.")
    List<String> tables = new ArrayList<>();

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
        List<TableId> ids = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String table : tables) {
            try {
                TableId id = TableId.parse(table);
                if (!loaded.capturedTables().contains(id)) {
                    problems.add(table + " is not a table the config captures (add it to a service's tables and restart strangler run first); "
                            + "captured: " + loaded.capturedTables());
                } else {
                    ids.add(id);
                }
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
        PrintWriter out = spec.commandLine().getOut();
        try {
            boolean binlog = loaded.monolith().type().binlog();
            String id = binlog ? dev.strangler.connectors.BinlogCapture.requestSnapshot(loaded.monolith(), ids, loaded.capturedTables())
                    : PostgresCapture.requestSnapshot(loaded.monolith(), ids);
            TableId signal = binlog ? dev.strangler.connectors.BinlogCapture.signalTable(loaded.capturedTables())
                    : new TableId("public", "strangler_signal");
            out.println("incremental snapshot of " + ids + " requested (signal " + id + " in " + signal + "): the running capture "
                    + "copies the rows in chunks of 1,024 while changes keep flowing, and resumes after a restart from the last chunk");
            out.flush();
            return 0;
        } catch (SQLException e) {
            spec.commandLine().getErr().println("cannot write the snapshot signal into the monolith (" + loaded.monolith().url() + "): "
                    + Strings.firstLine(e.getMessage()));
            return Main.EXIT_FAILED;
        }
    }
}
