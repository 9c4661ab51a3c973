package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.MetricFamily;
import ccc.api.UpdateResult;
import ccc.core.sdk.ShowrunnerSdk;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Showrunner SDK's side of a core in this JVM: the workload started from the file, reloads
 * applied live or by a restart, refused files, and {@code /healthz} and {@code /metrics} on the
 * SDK's own port beside the control API. Reloads are asked for as SIGHUP asks ({@link ShowrunnerSdk#reload()});
 * {@code ShowrunnerSdkIT} sends the real signal to the runtime image.
 */
class ShowrunnerSdkTest {

    @TempDir
    Path work;

    private final SleepAdapter adapter = new SleepAdapter();
    private TestCore core;

    @AfterEach
    void stop() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(adapter.marker);
    }

    private Path file() {
        return work.resolve("app.json");
    }

    private TestCore start(String extraYaml) throws Exception {
        core = TestCore.start(adapter, extraYaml + """
                showrunner_sdk:
                  enabled: true
                  config_path: %s
                  host: 127.0.0.1
                  port: 0
                  app_name: sleepy
                  app_version: 4.5.6
                """.formatted(file()));
        return core;
    }

    private ShowrunnerSdk sdk() {
        return core.core.showrunnerSdk().orElseThrow();
    }

    private TestCore.Reply sdkGet(String path) {
        return sdkSend("GET", path);
    }

    private TestCore.Reply sdkSend(String method, String path) {
        try {
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + sdk().port() + path).toURL().openConnection();
            connection.setRequestMethod(method);
            int status = connection.getResponseCode();
            var in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
            return new TestCore.Reply(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8), connection.getHeaderFields());
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " on the SDK's port failed", e);
        }
    }

    private Map<String, Object> awaitHealth(Predicate<Map<String, Object>> condition) {
        Instant deadline = Instant.now().plusSeconds(15);
        Map<String, Object> health = sdkGet("/healthz").json();
        while (!condition.test(health)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("/healthz never got there: " + health + " " + core.status());
            }
            TestCore.sleep(20);
            health = sdkGet("/healthz").json();
        }
        return health;
    }

    @Test
    void theFileStartsTheWorkloadAndHealthzSaysRunning() throws Exception {
        Files.writeString(file(), "{\"flowfile\": \"flows.txt\"}");
        start("  primary_payload_key: flowfile\n");
        var health = awaitHealth(h -> "running".equals(h.get("status")));
        assertEquals(List.of("status", "reason", "uptime_seconds"), List.copyOf(health.keySet()));
        assertEquals("", health.get("reason"));
        double uptime = ((Number) health.get("uptime_seconds")).doubleValue();
        assertTrue(uptime > 0 && uptime < 600, "the core's own uptime: " + uptime);
        assertEquals(1, adapter.starts.get());
        long pid = ((Number) core.status().get("pid")).longValue();
        assertEquals(List.of(pid), Processes.settledWithArgument(adapter.marker, List.of(pid)), "one workload runs");
        assertEquals("running", core.status().get("app_status"), "the control API sees the same workload");
    }

    @Test
    void theSdksPortAnswersOnlyItsTwoPathsWithJsonRefusals() throws Exception {
        Files.writeString(file(), "{}");
        start("");
        var unknown = sdkGet("/api/status");
        assertEquals(404, unknown.status());
        assertEquals(Map.of("detail", "Not Found"), unknown.json());
        var wrongMethod = sdkSend("POST", "/healthz");
        assertEquals(405, wrongMethod.status());
        assertEquals(Map.of("detail", "Method Not Allowed"), wrongMethod.json());
        assertEquals(405, sdkSend("DELETE", "/metrics").status());
        assertEquals(404, core.get("/healthz").status(), "the control API's port does not serve the SDK's paths");
    }

    @Test
    void metricsCarryTheCoresRegistryAndTheSdksBaseFamilies() throws Exception {
        adapter.families = List.of(MetricFamily.gauge("app_info", "An adapter's family that takes a base family's name.", 7),
                MetricFamily.counter("flows_requests", "Requests sent.", 42));
        Files.writeString(file(), "{}");
        start("");
        awaitHealth(h -> "running".equals(h.get("status")));
        Processes.awaitProgram(((Number) core.status().get("pid")).longValue(), "sleep");
        core.get("/api/health");
        var scrape = sdkGet("/metrics");
        assertEquals(200, scrape.status());
        assertTrue(scrape.header("Content-Type").startsWith("text/plain; version=0.0.4"), scrape.header("Content-Type"));
        String text = scrape.body();
        for (String line : List.of("# TYPE app_uptime_seconds gauge", "# TYPE config_reloads_total counter", "config_reloads_total 0.0",
                "# TYPE app_info gauge", "app_info{name=\"sleepy\",version=\"4.5.6\",} 1.0", "# TYPE process_cpu_percent gauge",
                "# TYPE process_memory_mb gauge", "# TYPE ccc_config_reloads_refused_total counter",
                "ccc_build_info{version=", "# TYPE container_cpu_percent gauge", "ccc_workload_up 1.0",
                "ccc_http_requests_total{path=\"/api/health\",method=\"GET\",code=\"200\",} 1.0", "flows_requests_total 42.0")) {
            assertTrue(text.contains(line), line + " in\n" + text);
        }
        assertEquals(1, text.lines().filter(line -> line.startsWith("# TYPE app_info ")).count(), "the base family wins: " + text);
        assertFalse(text.contains("app_info 7.0"), text);
        double memory = sample(text, "process_memory_mb");
        assertTrue(memory > 0.1 && memory < 100, "the sleep's resident memory in MiB: " + memory);
        assertTrue(sample(text, "app_uptime_seconds") > 0);
        assertFalse(core.get("/metrics").body().contains("app_uptime_seconds"), "the control API's /metrics is as it was");
        promtoolAccepts(text);
    }

    @Test
    void aReloadTheAdapterAppliesLiveKeepsTheWorkload() throws Exception {
        adapter.updateResult = UpdateResult.APPLIED;
        Files.writeString(file(), "{\"level\": \"info\"}");
        start("");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        Files.writeString(file(), "{\"level\": \"debug\"}");
        sdk().reload();
        awaitMetric("config_reloads_total", 1);
        var status = core.status();
        assertEquals(pid, ((Number) status.get("pid")).longValue(), "the same workload");
        assertEquals(0, ((Number) status.get("restarts")).intValue());
        assertEquals(1, adapter.starts.get());
    }

    @Test
    void aReloadTheAdapterDeclinesOrCannotApplyRestartsWithTheNewPayload() throws Exception {
        for (UpdateResult result : List.of(UpdateResult.DECLINED, UpdateResult.NOT_SUPPORTED)) {
            adapter.updateResult = result;
            Files.writeString(file(), "{\"level\": \"info\"}");
            start("");
            long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
            Files.writeString(file(), "{\"level\": \"debug\"}");
            sdk().reload();
            var restarted = core.awaitStatus(s -> "running".equals(s.get("phase")) && ((Number) s.get("restarts")).intValue() == 1,
                    Duration.ofSeconds(15));
            assertNotEquals(pid, ((Number) restarted.get("pid")).longValue(), result + ": a new workload");
            List<Long> newOne = List.of(((Number) restarted.get("pid")).longValue());
            assertEquals(newOne, Processes.settledWithArgument(adapter.marker, newOne), "only the new one runs");
            assertEquals(Map.of("level", "debug"), adapter.lastStartPayload.values(), "started with the new file");
            core.close();
            core = null;
            adapter.starts.set(0);
        }
    }

    @Test
    void aBrokenFileAtStartLeavesTheCoreUpInErrorWithTheReason() throws Exception {
        Files.writeString(file(), "{\"password\": s3cr3t-value}");
        start("");
        var health = awaitHealth(h -> "error".equals(h.get("status")));
        String reason = file() + " is not valid JSON at line 1, column 14";
        assertEquals(reason, health.get("reason"));
        var status = core.status();
        assertEquals("error", status.get("app_status"));
        assertEquals(reason, status.get("last_error"));
        assertFalse(health.toString().contains("s3cr3t") || status.toString().contains("s3cr3t"), "the file's content is never quoted");
        assertEquals(0, adapter.starts.get());
        assertEquals(200, core.get("/api/health").status(), "the core keeps answering");

        Files.writeString(file(), "{\"password\": \"s3cr3t-value\"}");
        sdk().reload();
        assertEquals("", awaitHealth(h -> "running".equals(h.get("status"))).get("reason"), "a fixed file and SIGHUP start it");
    }

    @Test
    void aPayloadTheCoreRefusesAtStartIsAnErrorWithThe400sMessage() throws Exception {
        Files.writeString(file(), "{\"other\": 1}");
        start("  primary_payload_key: flowfile\n");
        assertEquals(file() + ": Missing primary payload key 'flowfile'", awaitHealth(h -> "error".equals(h.get("status"))).get("reason"));
        assertEquals(0, adapter.starts.get());
    }

    /**
     * A payload value the core refuses may be a secret in the wrong key: the refusal says what the
     * value is, and neither /healthz, last_error, the 400's detail nor the log shows it.
     */
    @Test
    void aRefusedPayloadValueIsNeverQuoted() throws Exception {
        var logged = new java.io.ByteArrayOutputStream();
        ccc.core.log.Log.redirect(new java.io.PrintStream(logged, true, StandardCharsets.UTF_8));
        try {
            String secret = "Hunter2-Secret-Pw-55";
            Files.writeString(file(), "{\"password\": \"" + secret + "\", \"bandwidth_limit_mbps\": \"" + secret + "\"}");
            start("traffic_control:\n  enabled: true\n");
            var health = awaitHealth(h -> "error".equals(h.get("status")));
            assertEquals(file() + ": payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000,"
                    + " got a string that is not a number", health.get("reason"));
            var refused = core.post("/api/start", "{\"bandwidth_limit_mbps\": {\"password\": \"Nested-Secret-Pw-77\"}}");
            assertEquals(400, refused.status(), refused.body());
            assertTrue(refused.body().endsWith("got an object\"}"), refused.body());
            String shown = health + " " + core.status() + " " + refused.body() + " " + logged.toString(StandardCharsets.UTF_8);
            assertFalse(shown.contains(secret) || shown.contains("Nested-Secret-Pw-77"), shown);
        } finally {
            ccc.core.log.Log.redirect(System.out);
        }
    }

    @Test
    void aMissingFileIsAnEmptyPayload() throws Exception {
        start("");
        awaitHealth(h -> "running".equals(h.get("status")));
        assertEquals(Map.of(), adapter.lastStartPayload.values());
    }

    @Test
    void aBrokenFileOnReloadLeavesTheRunningWorkloadAloneAndSaysSo() throws Exception {
        Files.writeString(file(), "{}");
        start("");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        Files.writeString(file(), "[\"not an object\"]");
        sdk().reload();
        var health = awaitHealth(h -> !"".equals(h.get("reason")));
        assertEquals("running", health.get("status"));
        assertEquals("configuration reload refused, the workload runs as before: " + file() + " must be a JSON object, got an array",
                health.get("reason"));
        assertEquals(pid, ((Number) core.status().get("pid")).longValue());
        awaitMetric("ccc_config_reloads_refused_total", 1);
        assertEquals(0, sample(sdkGet("/metrics").body(), "config_reloads_total"));

        adapter.updateResult = UpdateResult.APPLIED;
        Files.writeString(file(), "{}");
        sdk().reload();
        assertEquals("running", awaitHealth(h -> "".equals(h.get("reason"))).get("status"), "a good reload clears it");
    }

    @Test
    void theControlApiKeepsItsTokenWhileTheSdksPortNeedsNone() throws Exception {
        Files.writeString(file(), "{}");
        String yaml = TestCore.BASE_CONFIG.replace("  port: 0\n", "  port: 0\n  auth_token: control-secret\n") + """
                showrunner_sdk: {enabled: true, config_path: %s, host: 127.0.0.1, port: 0}
                """.formatted(file());
        var config = new ccc.core.config.ConfigLoader(Map.of())
                .parse(new java.io.ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test config");
        core = TestCore.start(adapter, config);
        assertEquals("running", awaitHealth(h -> "running".equals(h.get("status"))).get("status"));
        assertEquals(200, sdkGet("/metrics").status());
        assertEquals(401, core.get("/api/status").status(), "both listen at once, the control API with its token");
        assertEquals(401, core.post("/api/stop", "{}").status());
        assertEquals(200, core.get("/api/health").status());
    }

    private void awaitMetric(String name, double value) {
        Instant deadline = Instant.now().plusSeconds(15);
        while (sample(sdkGet("/metrics").body(), name) != value) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError(name + " never reached " + value + ": " + sdkGet("/metrics").body());
            }
            TestCore.sleep(20);
        }
    }

    private static double sample(String text, String name) {
        return text.lines().filter(line -> line.startsWith(name + " ")).mapToDouble(line -> Double.parseDouble(line.substring(name.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError(name + " not in\n" + text));
    }

    /**
     * promtool parses the exposition (exit 1 when it cannot) and lints it (exit 3). The one lint
     * it may report is about a name the SDK's contract fixes, which every SDK app serves as it is.
     */
    static void promtoolAccepts(String text) throws Exception {
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/promtool")), "promtool (Debian package prometheus) is not installed");
        var promtool = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        promtool.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        promtool.getOutputStream().close();
        String verdict = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(promtool.waitFor(30, TimeUnit.SECONDS));
        if (promtool.exitValue() == 3) {
            assertEquals(List.of("process_memory_mb metric names should not contain abbreviated units"),
                    verdict.lines().filter(line -> !line.isBlank()).toList(), text);
        } else {
            assertEquals(0, promtool.exitValue(), verdict + "\n" + text);
        }
    }
}
