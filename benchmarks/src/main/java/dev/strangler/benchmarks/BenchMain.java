package dev.strangler.benchmarks;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code strangler bench ...}: reproducible benchmarks that print one JSON object to standard output. */
@Command(name = "strangler bench", mixinStandardHelpOptions = true, subcommands = {E2eBenchmark.class, OrdersBenchmark.class, ValidateBenchmark.class, RouterBenchmark.class, SnapshotBenchmark.class},
        description = "Benchmarks on the sandbox (in-process broker and PostgreSQL). Progress goes to stderr, the result as JSON to stdout.")
public final class BenchMain {

    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchMain()).execute(args));
    }
}
