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
        int code = cli.execute("demo", "--duration", "25", "--http-port", "0", "--router-port", "0", "--rate", "50");
        String text = out.toString();
        assertThat(code).as(text).isZero();
        assertThat(text).contains("Monolith:", "Service:", "Kafka:", "Stopped.");
        long last = lastNumbers(text, "applied (\\d+)")[0];
        // the sample shop holds ~7,700 rows of which ~6,200 pass the demo's filter, then the workload adds more
        assertThat(last).as(text).isGreaterThan(6_000);
        assertThat(text).containsPattern("e2e lag ms: .*orders=\\d+");
        // reads go through the router at 0% with shadow compare: the service's answers are compared with the monolith's
        assertThat(text).contains("Router:    http://127.0.0.1:");
        long[] shadow = lastNumbers(text, "products-read 0% shadow match=(\\d+) mismatch=(\\d+)");
        long lastMatches = shadow[0];
        long lastMismatches = shadow[1];
        assertThat(lastMatches).as(text).isGreaterThan(50);
        // products are only read, never written by the workload once copied: their answers agree
        assertThat(lastMismatches).as(text).isLessThan(lastMatches / 10);
    }

    @Test
    void demoWithAMariaDbMonolithCopiesTheShopAndAnswersTheSameThroughTheRouter() {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        int code = cli.execute("demo", "--monolith", "mariadb", "--duration", "16", "--http-port", "0", "--router-port", "0", "--rate", "30");
        String text = out.toString();
        assertThat(code).as(text).isZero();
        assertThat(text).contains("Monolith:  jdbc:mariadb://", "demo.cdc.monolith.shop.*", "Stopped.");
        long last = lastNumbers(text, "applied (\\d+)")[0];
        assertThat(last).as(text).isGreaterThan(6_000);
        long[] shadow = lastNumbers(text, "orders-read 0% shadow match=(\\d+) mismatch=(\\d+)");
        long lastMatches = shadow[0];
        long lastMismatches = shadow[1];
        // the service's answers, read from PostgreSQL, agree with the MariaDB monolith's
        assertThat(lastMatches).as(text).isGreaterThan(20);
        assertThat(lastMismatches).as(text).isLessThan(Math.max(2, lastMatches / 10));
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
        assertThat(cli.execute("demo", "--monolith", "oracle")).isEqualTo(2);
        assertThat(err.toString()).contains("--rate must be between 1 and 10000, not 0", "--monolith is postgres or mariadb, not oracle");
    }

    /** The groups of the last match of a pattern of numbers in the demo's output (the status line's latest figures). */
    private static long[] lastNumbers(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        long[] last = new long[m.groupCount()];
        while (m.find()) {
            for (int g = 0; g < last.length; g++) {
                last[g] = Long.parseLong(m.group(g + 1));
            }
        }
        return last;
    }
}
