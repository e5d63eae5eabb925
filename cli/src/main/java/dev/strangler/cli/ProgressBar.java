package dev.strangler.cli;

import dev.strangler.validator.TableReport;
import dev.strangler.validator.TableValidator;

import java.io.PrintWriter;

/**
 * One line on standard error, rewritten in place while a table is compared: rows checked, percent, ETA.
 * Only on a terminal; redirected output gets the final line alone.
 */
final class ProgressBar implements TableValidator.Progress {

    private final PrintWriter err;
    private final String name;
    private final long started = System.nanoTime();
    private long lastPrint;

    ProgressBar(PrintWriter err, String name) {
        this.err = err;
        this.name = name;
    }

    @Override
    public void rowsChecked(long checked, long estimatedTotal) {
        if (System.console() == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastPrint < 200_000_000L) {
            return;
        }
        lastPrint = now;
        double fraction = estimatedTotal == 0 ? 1 : Math.min(1, checked / (double) estimatedTotal);
        double elapsed = (now - started) / 1e9;
        double eta = fraction <= 0 ? 0 : elapsed / fraction - elapsed;
        int filled = (int) Math.round(fraction * 30);
        err.printf("\r%-40s [%s%s] %5.1f%% %,d rows, ETA %.0f s ", name, "#".repeat(filled), " ".repeat(30 - filled),
                100 * fraction, checked, eta);
        err.flush();
    }

    void done(TableReport report) {
        err.printf("\r%-40s %s in %.1f s%s%n", name, report.consistent() ? "consistent" : "DRIFT " + report.drifted() + " rows",
                report.duration().toMillis() / 1000.0, " ".repeat(40));
        err.flush();
    }
}
