package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.MetricFamily;
import ccc.api.MetricType;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics} as Prometheus' own tools see it: promtool, and a real Prometheus server scraping the core. */
class PrometheusTest {

    private SleepAdapter adapter;
    private TestCore core;

    @TempDir
    Path work;

    @BeforeEach
    void startCore() throws Exception {
        adapter = new SleepAdapter();
        adapter.families = List.of(
                MetricFamily.counter("flows_requests", "Requests the flows sent.", 42),
                new MetricFamily("flows_rate", "Requests per second, by flow.", MetricType.GAUGE, List.of(
                        new MetricFamily.Sample("flows_rate", Map.of("flow", "checkout"), 12.5),
                        new MetricFamily.Sample("flows_rate", Map.of("flow", "search \"quoted\"\n"), 3))));
        core = TestCore.start(adapter, "");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
    }

    @AfterEach
    void stopCore() {
        core.close();
        Processes.killAll(adapter.marker);
    }

    private byte[] scrape(Map<String, String> headers, String query) throws IOException {
        var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + core.core.port() + "/metrics" + query).toURL().openConnection();
        headers.forEach(connection::setRequestProperty);
        assertEquals(200, connection.getResponseCode());
        lastContentType = connection.getContentType();
        lastContentEncoding = connection.getContentEncoding();
        return connection.getInputStream().readAllBytes();
    }

    private String lastContentType;
    private String lastContentEncoding;

    @Test
    void promtoolAcceptsTheExposition() throws Exception {
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/promtool")), "promtool (Debian package prometheus) is not installed");
        byte[] text = scrape(Map.of(), "");
        var promtool = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        promtool.getOutputStream().write(text);
        promtool.getOutputStream().close();
        String verdict = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(promtool.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, promtool.exitValue(), verdict + "\n" + new String(text, StandardCharsets.UTF_8));
    }

    @Test
    void openMetricsGzipAndNameFiltersAreServed() throws Exception {
        String open = new String(scrape(Map.of("Accept", "application/openmetrics-text; version=1.0.0"), ""), StandardCharsets.UTF_8);
        assertTrue(lastContentType.startsWith("application/openmetrics-text"), lastContentType);
        assertTrue(open.endsWith("# EOF\n"));

        byte[] zipped = scrape(Map.of("Accept-Encoding", "gzip"), "");
        assertEquals("gzip", lastContentEncoding);
        String unzipped = new String(new GZIPInputStream(new java.io.ByteArrayInputStream(zipped)).readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(unzipped.contains("# TYPE container_cpu_percent gauge"));

        String filtered = new String(scrape(Map.of(), "?name[]=ccc_build_info&name[]=flows_requests_total"), StandardCharsets.UTF_8);
        assertTrue(filtered.contains("ccc_build_info{version="), filtered);
        assertTrue(filtered.contains("flows_requests_total 42.0"), filtered);
        assertFalse(filtered.contains("container_cpu_percent"), filtered);
    }

    @Test
    void aNameFilterServesEveryFamilyItNames() throws Exception {
        // The registry chooses the collectors a filtered scrape asks by the names they describe: a name missing from a
        // description would never be served filtered. Every sample of the whole exposition, asked for by its name:
        String text = new String(scrape(Map.of(), ""), StandardCharsets.UTF_8);
        var names = text.lines().filter(line -> !line.startsWith("#") && !line.isBlank())
                .map(line -> line.split("[{ ]", 2)[0]).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
        assertTrue(names.containsAll(List.of("container_cpu_percent", "ccc_lifecycle_phase", "ccc_build_info", "flows_requests_total",
                "flows_rate", "ccc_http_requests_total")), names.toString());
        for (String name : names) {
            String filtered = new String(scrape(Map.of(), "?name[]=" + name), StandardCharsets.UTF_8);
            assertTrue(filtered.lines().anyMatch(line -> line.startsWith(name + " ") || line.startsWith(name + "{")), name + " in\n" + filtered);
        }
    }

    @Test
    void startingACoreAsksTheAdapterForNoFamilies() throws Exception {
        var fresh = new SleepAdapter();
        fresh.families = List.of(MetricFamily.counter("flows_requests", "Requests the flows sent.", 1));
        try (var second = TestCore.start(fresh, "")) {
            assertEquals(0, fresh.familiesAsked.get(), "registering the adapter's collector asks the adapter nothing");
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + second.core.port() + "/metrics").toURL().openConnection();
            String text = new String(connection.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.contains("flows_requests_total 1.0"), text);
            assertEquals(1, fresh.familiesAsked.get(), "a scrape asks");
        } finally {
            Processes.killAll(fresh.marker);
        }
    }

    @Test
    void theCoresOwnFamiliesAreThere() throws Exception {
        core.get("/api/health");
        core.post("/api/start", "{}");
        core.awaitStatus(s -> "running".equals(s.get("phase")) && ((Number) s.get("restarts")).intValue() == 1, Duration.ofSeconds(10));
        String text = new String(scrape(Map.of(), ""), StandardCharsets.UTF_8);
        for (String line : List.of("ccc_lifecycle_phase{phase=\"running\",} 1.0", "ccc_workload_up 1.0", "ccc_workload_restarts_total 1.0",
                "# TYPE ccc_start_duration_seconds histogram", "ccc_start_duration_seconds_count 2.0",
                "# TYPE ccc_stop_duration_seconds histogram",
                "ccc_http_requests_total{path=\"/api/health\",method=\"GET\",code=\"200\",} 1.0",
                "# TYPE container_memory_limit_bytes gauge", "# TYPE container_cpu_cores_used gauge",
                "flows_rate{flow=\"checkout\",} 12.5", "flows_rate{flow=\"search \\\"quoted\\\"\\n\",} 3.0")) {
            assertTrue(text.contains(line), line + " in\n" + text);
        }
    }

    @Test
    void aRealPrometheusScrapesTheCoreAndAnswersQueries() throws Exception {
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/prometheus")), "prometheus (Debian package prometheus) is not installed");
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Path config = Files.writeString(work.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 900ms
                scrape_configs:
                  - job_name: ccc
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(core.core.port()));
        var prometheus = new ProcessBuilder("prometheus", "--config.file=" + config, "--storage.tsdb.path=" + work.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port).redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
        try {
            assertTrue(awaitQuery(port, "container_cpu_percent"), "Prometheus returned container_cpu_percent: " + Files.readString(work.resolve("prometheus.log")));
            assertTrue(awaitQuery(port, "flows_rate"), "Prometheus returned the adapter's family");
            String up = query(port, "up");
            assertTrue(up.contains("\"value\":[") && up.contains(",\"1\"]"), "the scrape target is up: " + up);
        } finally {
            prometheus.destroy();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static boolean awaitQuery(int port, String metric) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(deadline)) {
            try {
                String answer = query(port, metric);
                if (answer.contains("\"__name__\":\"" + metric + "\"")) {
                    return true;
                }
            } catch (IOException e) {
                // Prometheus is not listening yet.
            }
            Thread.sleep(200);
        }
        return false;
    }

    private static String query(int port, String promql) throws IOException {
        var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/api/v1/query?query=" + promql).toURL().openConnection();
        connection.setConnectTimeout(1000);
        return new String(connection.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
