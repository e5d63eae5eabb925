package dev.strangler.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's first command: the demo runs the whole pipeline and reports rows applied and lag. */
class DemoIT {

    @Test
    void demoCopiesTheSampleShopAndStreamsTheWorkload() {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        int code = cli.execute("demo", "--duration", "25", "--http-port", "0", "--rate", "50");
        String text = out.toString();
        assertThat(code).as(text).isZero();
        assertThat(text).contains("Monolith:", "Service:", "Kafka:", "Stopped.");
        Matcher applied = Pattern.compile("applied (\\d+)").matcher(text);
        long last = 0;
        while (applied.find()) {
            last = Long.parseLong(applied.group(1));
        }
        // the sample shop holds ~7,700 rows of which ~6,200 pass the demo's filter, then the workload adds more
        assertThat(last).as(text).isGreaterThan(6_000);
        assertThat(text).containsPattern("e2e lag ms: .*orders=\\d+");
    }

    @Test
    void demoExplainsItselfAndRefusesNonsense() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("demo", "--help")).isZero();
        assertThat(out.toString()).contains("Runs Strangler end to end on this machine", "--rate", "--duration");
        assertThat(cli.execute("demo", "--rate", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("--rate must be between 1 and 10000, not 0");
    }
}
