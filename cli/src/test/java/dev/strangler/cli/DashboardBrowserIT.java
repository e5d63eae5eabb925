package dev.strangler.cli;

import com.sun.net.httpserver.HttpServer;
import dev.strangler.connectors.ApplyListener;
import dev.strangler.core.Weight;
import dev.strangler.core.config.ConfigLoader;
import dev.strangler.core.config.StranglerConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in real headless Chromium (Debian's chromium and chromedriver; skipped, saying so, where
 * they are absent — .ci/run installs them): the page loads, its figures match /metrics, its charts have
 * data, and a rollback click (confirmed) sets the route's weight to 0.
 */
class DashboardBrowserIT extends SandboxTestBase {

    private static final File CHROMIUM = new File("/usr/bin/chromium");
    private static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");

    @Test
    void theDashboardShowsWhatMetricsSayAndRollsBackARoute() throws Exception {
        Assumptions.assumeTrue(CHROMIUM.canExecute() && CHROMEDRIVER.canExecute(),
                "headless Chromium is not installed (apt-get install chromium chromium-driver); the dashboard's browser test is skipped");
        HttpServer upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/", e -> {
            byte[] body = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            e.sendResponseHeaders(200, body.length);
            e.getResponseBody().write(body);
            e.close();
        });
        upstream.start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1800",
                "--user-data-dir=" + Files.createTempDirectory("chromium"));
        try (StranglerHarness h = new StranglerHarness(kafka, postgres)) {
            h.givenMonolith("CREATE TABLE items (id int PRIMARY KEY, name text)");
            // 1,000 rows are there before the start (the initial copy), 234 come after (streamed)
            h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
            String yaml = h.config("- from: public.items") + """
                    validator: {interval: 1h}
                    router:
                      listen: {host: 127.0.0.1, port: 0}
                      admin: {host: 127.0.0.1, port: 0}
                      adminToken: browser-secret
                      defaultUpstream: http://127.0.0.1:%d
                      routes:
                        items-read:
                          match: {pathPrefix: /items}
                          service: http://127.0.0.1:%d
                    """.formatted(upstream.getAddress().getPort(), upstream.getAddress().getPort());
            StranglerConfig config = new ConfigLoader(k -> null, h.workDir).parse(yaml, "test");
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            WebDriver browser = null;
            try (Pipeline pipeline = new Pipeline(config, registry, Clock.systemUTC(), ApplyListener.NONE);
                 ObservabilityServer server = new ObservabilityServer("127.0.0.1", 0, registry, pipeline::components);
                 Dashboard dashboard = new Dashboard(registry, pipeline::components, pipeline::router,
                         config.router().orElseThrow().adminToken(), Clock.systemUTC())) {
                pipeline.start(EnumSet.of(Pipeline.Part.CAPTURE, Pipeline.Part.SYNC_ENGINE, Pipeline.Part.WRITER, Pipeline.Part.ROUTER));
                server.serve(dashboard);
                h.inMonolith("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1001, 1234) g");
                String base = "http://127.0.0.1:" + server.port();
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> appliedOnMetrics(http, base) == 1234);
                pipeline.router().orElseThrow().control().setWeight("items-read", Weight.parse("25%"), "test");

                browser = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER).build(), options);
                browser.get(base + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                // the figure on the page is the counter on /metrics
                wait.until(ExpectedConditions.textToBe(By.id("applied"), "1,234"));
                assertThat(browser.findElement(By.cssSelector("[data-applied='svc/public.items']")).getText()).isEqualTo("1,234");
                assertThat(browser.findElement(By.id("captured")).getText()).isEqualTo("1,234");
                // the initial copy's progress comes from Debezium's snapshot MBean (rows per table, counted when a table is done);
                // it read the 1,000 rows there before the start and whichever of the next 234 committed before it began
                wait.until(ExpectedConditions.textMatches(By.id("snapshot"), java.util.regex.Pattern.compile("done: 1,[0-9]{3} rows")));
                long scanned = Long.parseLong(browser.findElement(By.id("snapshot")).getText().replaceAll("done: ([0-9,]+) rows.*", "$1")
                        .replace(",", ""));
                assertThat(scanned).isBetween(1000L, 1234L);
                assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body())
                        .contains("strangler_snapshot_rows_scanned{table=\"public.items\"} " + scanned + ".0");
                // the charts are drawn from the history the process keeps (a sample every 5 s)
                wait.until(d -> ((Number) ((JavascriptExecutor) d).executeScript(
                        "return window.stranglerCharts.rate.data.labels.length")).intValue() >= 2);
                Object lagSeries = ((JavascriptExecutor) browser).executeScript(
                        "return window.stranglerCharts.lag.data.datasets.map(d => d.label)");
                assertThat(lagSeries.toString()).contains("public.items");
                try {
                    wait.until(ExpectedConditions.textToBe(By.cssSelector("[data-weight='items-read']"), "25%"));
                } catch (org.openqa.selenium.TimeoutException e) {
                    throw new AssertionError("route card missing; /api/status: " + http.send(HttpRequest.newBuilder(URI.create(base + "/api/status"))
                            .build(), HttpResponse.BodyHandlers.ofString()).body() + "\npage: " + browser.findElement(By.id("routes")).getAttribute("innerHTML")
                            + "\nupdated: " + browser.findElement(By.id("updated")).getText(), e);
                }

                browser.findElement(By.id("token")).sendKeys("browser-secret");
                // the route cards are redrawn every refresh: a button found just before a redraw is gone when clicked, so find it again
                wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(d -> {
                    d.findElement(By.id("rollback-items-read")).click();
                    return true;
                });
                wait.until(ExpectedConditions.alertIsPresent()).accept();
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() ->
                        pipeline.router().orElseThrow().routeState("items-read").weight().equals(Weight.MONOLITH_ONLY));
                wait.until(ExpectedConditions.textToBe(By.cssSelector("[data-weight='items-read']"), "0%"));
                assertThat(pipeline.router().orElseThrow().routeState("items-read").reason()).isEqualTo("rollback: rolled back on the dashboard");

                // strangler status shows the same process as text and as JSON
                CliResult status = runCli("status", "--url", base);
                assertThat(status.exitCode()).as(status.stderr()).isZero();
                assertThat(status.stdout()).containsPattern("svc\\s+public.items\\s+1234").containsPattern("items-read\\s+0%")
                        .contains("router                   RUNNING");
                CliResult statusJson = runCli("status", "--url", base, "--json");
                assertThat(statusJson.stdout()).contains("\"applied\" : 1234");
                CliResult nobody = runCli("status", "--url", "http://127.0.0.1:1");
                assertThat(nobody.exitCode()).isEqualTo(Main.EXIT_FAILED);
                assertThat(nobody.stderr()).contains("no Strangler process answers at http://127.0.0.1:1");
            } finally {
                if (browser != null) {
                    browser.quit();
                }
                upstream.stop(0);
            }
        }
    }

    private static long appliedOnMetrics(HttpClient http, String base) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return body.lines().filter(l -> l.startsWith("strangler_apply_rows_total{"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
