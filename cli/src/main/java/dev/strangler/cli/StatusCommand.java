package dev.strangler.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code strangler status}: what a running Strangler process reports, as tables (or JSON). */
@Command(name = "status", mixinStandardHelpOptions = true, usageHelpWidth = 110,
        description = {"Shows a running Strangler process's state: its components, per service and table the rows applied, lag and",
                "validation, and per route the weight, ramp and gates. Reads the process's /api/status (the dashboard's data) at",
                "http.host:http.port of the config, or --url. Exit code 0: shown; 1: the process cannot be reached."})
final class StatusCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, description = "The YAML config file; its http: section says where the process listens.")
    Path config;

    @Option(names = "--url", description = "The process's base URL instead, e.g. http://strangler-0:8080")
    String url;

    @Option(names = "--json", description = "Print the status as JSON.")
    boolean json;

    @Option(names = "--watch", arity = "0..1", fallbackValue = "2", paramLabel = "SECONDS",
            description = "Repeat every SECONDS (default 2) until Ctrl-C.")
    Integer watch;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (url == null && config == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --config (its http: section says where to look) or --url");
        }
        String base = url;
        if (base == null) {
            StranglerConfig loaded = ConfigLoader.fromEnvironment().load(config);
            String host = loaded.http().host().equals("0.0.0.0") ? "127.0.0.1" : loaded.http().host();
            base = "http://" + host + ":" + loaded.http().port();
        }
        ProcessStatusClient http = new ProcessStatusClient(Duration.ofSeconds(10));
        PrintWriter out = spec.commandLine().getOut();
        while (true) {
            JsonNode status;
            try {
                status = http.get(URI.create(base), "/api/status");
            } catch (IOException e) {
                spec.commandLine().getErr().println("no Strangler process answers at " + base + " (" + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); is 'strangler run' up, and is this its http: address?");
                return Main.EXIT_FAILED;
            }
            if (watch != null && System.console() != null) {
                out.print("\u001B[H\u001B[2J");
            }
            out.println(json ? status.toPrettyString() : render(status));
            out.flush();
            if (watch == null) {
                return 0;
            }
            Thread.sleep(Math.max(1, watch) * 1000L);
        }
    }

    static String render(JsonNode s) {
        StringBuilder b = new StringBuilder();
        b.append("Strangler at ").append(s.path("at").asText()).append('\n');
        b.append(String.format("%-24s %s%n", "COMPONENT", "STATE"));
        for (JsonNode c : s.path("components")) {
            b.append(String.format("%-24s %s%s%n", c.path("name").asText(), c.path("state").asText(),
                    c.path("failure").asText().isEmpty() ? "" : "  " + c.path("failure").asText()));
        }
        b.append(String.format("%n%-12s %-28s %12s %12s %12s %10s %14s%n", "SERVICE", "TABLE", "APPLIED", "E2E LAG MS", "CONSISTENCY",
                "DRIFTED", "VALIDATED"));
        for (JsonNode t : s.path("targets")) {
            b.append(String.format("%-12s %-28s %12d %12.0f %12s %10s %14s%n", t.path("service").asText(), t.path("table").asText(),
                    t.path("applied").asLong(), t.path("e2eLagMs").asDouble(),
                    t.has("consistency") ? String.format("%.2f%%", t.path("consistency").asDouble() * 100) : "-",
                    t.has("driftedRows") ? String.valueOf(t.path("driftedRows").asLong()) : "-",
                    t.has("lastPassAgeSeconds") ? t.path("lastPassAgeSeconds").asLong() + " s ago" : "never"));
        }
        b.append(String.format("%ncaptured %d, applied %d, dead letters %d, parked rows %d%n", s.path("captured").asLong(),
                s.path("applied").asLong(), s.path("deadLetters").asLong(), s.path("parkedNow").asLong()));
        JsonNode snap = s.path("snapshot");
        if (snap.has("state")) {
            b.append("initial copy: ").append(snap.path("state").asText());
            if (snap.has("rowsScanned")) {
                b.append(String.format(", %d rows of ~%d, %d tables left", snap.path("rowsScanned").asLong(), snap.path("rowsEstimated").asLong(),
                        snap.path("tablesRemaining").asLong()));
            }
            if (snap.has("etaSeconds")) {
                b.append(String.format(", %.0f rows/s, ETA %.0f s", snap.path("rowsPerSecond").asDouble(), snap.path("etaSeconds").asDouble()));
            }
            b.append('\n');
        }
        if (s.path("routes").size() > 0) {
            b.append(String.format("%n%-20s %8s %-40s %-14s %s%n", "ROUTE", "WEIGHT", "RAMP", "GATES", "SHADOW"));
            for (JsonNode r : s.path("routes")) {
                JsonNode ramp = r.path("ramp");
                String rampText = ramp.isMissingNode() ? "-" : ramp.path("state").asText() + " to " + ramp.path("target").asText()
                        + " by " + ramp.path("step").asText();
                StringBuilder shadow = new StringBuilder();
                r.path("shadow").fields().forEachRemaining(e -> shadow.append(e.getKey()).append('=').append(e.getValue().asLong()).append(' '));
                b.append(String.format("%-20s %8s %-40s %-14s %s%n", r.path("name").asText(), r.path("weight").asText()
                                + (r.path("enabled").asBoolean(true) ? "" : " (off)"), rampText,
                        r.path("gates").path("gates").size() == 0 ? "not checked" : r.path("gates").path("passed").asBoolean() ? "pass" : "FAIL",
                        shadow.toString().trim()));
            }
        }
        return b.toString();
    }
}
