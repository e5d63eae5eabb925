package dev.strangler.cli;

import dev.strangler.core.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code strangler} command. Exit codes: 0 done, 1 failed while running, 2 bad configuration or usage. */
@Command(name = "strangler", mixinStandardHelpOptions = true, version = "strangler 0.1.0",
        description = "Keeps a monolith's database and service databases in sync while a system is split.",
        subcommands = {RunCommand.class, DemoCommand.class, ValidateCommand.class, RepairCommand.class, ReportCommand.class,
                RouteCommands.Routes.class, RouteCommands.SetWeight.class, RouteCommands.Cutover.class, RouteCommands.Rollback.class,
                RouteCommands.RampAction.class, InitCommand.class, DoctorCommand.class, StatusCommand.class, ResetCommand.class, ConsoleCommand.class, RuleCommands.class, DeadLetterCommands.class, SnapshotCommand.class, PreviewCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static final int EXIT_FAILED = 1;
    public static final int EXIT_CONFIG = 2;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof ConfigException config) {
                commandLine.getErr().println(config.getMessage());
                return EXIT_CONFIG;
            }
            if (e instanceof CommandLine.ParameterException usage) {
                commandLine.getErr().println(usage.getMessage());
                return EXIT_CONFIG;
            }
            commandLine.getErr().println("strangler failed: " + e);
            return EXIT_FAILED;
        });
        cli.setExitCodeExceptionMapper(e -> e instanceof ConfigException || e instanceof CommandLine.ParameterException ? EXIT_CONFIG : EXIT_FAILED);
        return cli.execute(args);
    }
}
