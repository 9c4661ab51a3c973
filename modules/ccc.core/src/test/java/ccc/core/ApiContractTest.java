package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.MetricFamily;
import ccc.api.MetricType;
import ccc.api.UpdateResult;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every row of the API table of docs/compatibility.md, over real HTTP against a core with a real {@code sleep} workload. */
class ApiContractTest {

    private static final Pattern TIMESTAMP = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z");

    private SleepAdapter adapter;
    private TestCore core;

    @BeforeEach
    void startCore() throws Exception {
        adapter = new SleepAdapter();
        core = TestCore.start(adapter, "  primary_payload_key: flowfile\n");
    }

    @AfterEach
    void stopCore() {
        core.close();
        Processes.killAll(adapter.marker);
    }

    private void startWorkload() {
        assertEquals(200, core.post("/api/start", "{\"flowfile\": \"flows.txt\"}").status());
        core.awaitPhase("running");
    }

    @Test
    void healthAnswersHealthyWithTheAppStatus() {
        var reply = core.get("/api/health");
        assertEquals(200, reply.status());
        assertEquals("application/json", reply.header("Content-Type"));
        assertEquals(Map.of("status", "healthy", "app_status", "initializing"), reply.json());
        startWorkload();
        assertEquals("running", core.get("/api/health").json().get("app_status"));
    }

    @Test
    void startRefusesBodiesThatAreNotJsonObjects() {
        for (String body : List.of("not json", "[1, 2]", "\"text\"", "42", "null", "{\"flowfile\": 1} trailing", "")) {
            var reply = core.post("/api/start", body);
            assertEquals(422, reply.status(), "body: " + body);
            assertTrue(((String) reply.json().get("detail")).startsWith("body "), reply.body());
        }
        assertEquals("initializing", core.get("/api/health").json().get("app_status"));
    }

    @Test
    void startRefusesABodyWithoutThePrimaryKey() {
        var reply = core.post("/api/start", "{\"other\": 1}");
        assertEquals(400, reply.status());
        assertEquals(Map.of("detail", "Missing primary payload key 'flowfile'"), reply.json());
        assertEquals(0, adapter.starts.get());
    }

    @Test
    void startInitiatesAndTheWorkloadRuns() {
        var reply = core.post("/api/start", "{\"flowfile\": \"flows.txt\"}");
        assertEquals(200, reply.status());
        assertEquals(Map.of("message", "start initiated"), reply.json());
        var status = core.awaitPhase("running");
        long pid = ((Number) status.get("pid")).longValue();
        assertEquals(List.of(pid), Processes.settledWithArgument(adapter.marker, List.of(pid)));
        assertTrue(TIMESTAMP.matcher((String) status.get("started_at")).matches());
    }

    @Test
    void startWhileRunningRestarts() {
        startWorkload();
        long first = ((Number) core.status().get("pid")).longValue();
        assertEquals(200, core.post("/api/start", "{\"flowfile\": \"again\"}").status());
        var status = core.awaitStatus(s -> "running".equals(s.get("phase")) && ((Number) s.get("restarts")).intValue() == 1,
                java.time.Duration.ofSeconds(10));
        long second = ((Number) status.get("pid")).longValue();
        assertTrue(first != second);
        assertFalse(Processes.alive(first));
        assertEquals(List.of(second), Processes.settledWithArgument(adapter.marker, List.of(second)));
    }

    @Test
    void updateAnswersEachOutcome() {
        var notRunning = core.post("/api/update", "{\"log_level\": \"debug\"}");
        assertEquals(400, notRunning.status());
        assertEquals(Map.of("detail", "application not running"), notRunning.json());

        startWorkload();
        adapter.updateResult = UpdateResult.APPLIED;
        var applied = core.post("/api/update", "{\"log_level\": \"debug\"}");
        assertEquals(200, applied.status());
        assertEquals(Map.of("message", "update applied"), applied.json());

        adapter.updateResult = UpdateResult.DECLINED;
        var declined = core.post("/api/update", "{}");
        assertEquals(409, declined.status());
        assertEquals(Map.of("detail", "adapter declined update"), declined.json());

        adapter.updateResult = UpdateResult.NOT_SUPPORTED;
        var unsupported = core.post("/api/update", "{}");
        assertEquals(409, unsupported.status());
        assertEquals(Map.of("detail", "live-update not supported"), unsupported.json());

        adapter.updateFailure = new UnsupportedOperationException("update is not implemented");
        var notImplemented = core.post("/api/update", "{}");
        assertEquals(409, notImplemented.status(), "a port of Python's NotImplementedError means no live update");
        assertEquals(Map.of("detail", "live-update not supported"), notImplemented.json());

        adapter.updateFailure = new IllegalStateException("cannot reach the workload");
        var failed = core.post("/api/update", "{}");
        assertEquals(500, failed.status());
        assertTrue(((String) failed.json().get("detail")).contains("cannot reach the workload"), failed.body());
        assertEquals("running", core.status().get("app_status"));

        assertEquals(422, core.post("/api/update", "[]").status());
    }

    @Test
    void stopAnswersNothingToStopOrStopInitiated() {
        var nothing = core.post("/api/stop", null);
        assertEquals(200, nothing.status());
        assertEquals(Map.of("message", "nothing to stop"), nothing.json());

        startWorkload();
        long pid = ((Number) core.status().get("pid")).longValue();
        var stopping = core.post("/api/stop", "{}");
        assertEquals(200, stopping.status());
        assertEquals(Map.of("message", "stop initiated"), stopping.json());
        var status = core.awaitPhase("stopped");
        assertEquals("stopped", status.get("app_status"));
        assertTrue(TIMESTAMP.matcher((String) status.get("stopped_at")).matches());
        assertFalse(Processes.alive(pid));
        assertEquals(Map.of("message", "nothing to stop"), core.post("/api/stop", "{\"force\": false}").json());
    }

    @Test
    void forcedStopKillsAtOnce() {
        adapter.command = List.of("sh", "-c", "trap '' TERM; while :; do sleep 0.05; done", adapter.marker);
        startWorkload();
        long pid = ((Number) core.status().get("pid")).longValue();
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", "{\"force\": true}").json());
        core.awaitPhase("stopped");
        assertFalse(Processes.alive(pid));
        assertEquals(List.of(), Processes.withArgument(adapter.marker));
    }

    @Test
    void stopTakesAJsonNullAsNoBodyAsVersionTwoDid() {
        // Its body is optional; FastAPI read the JSON null a client sends for "no options" as none given.
        assertEquals(Map.of("message", "nothing to stop"), core.post("/api/stop", "null").json());
        // A UTF-8 byte order mark before the value is read past, as before an object.
        assertEquals(Map.of("message", "nothing to stop"), core.post("/api/stop", "\uFEFFnull").json());
        assertEquals(Map.of("message", "nothing to stop"), core.post("/api/stop", "\uFEFF{}").json());
        startWorkload();
        long pid = ((Number) core.status().get("pid")).longValue();
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", " null\n").json());
        core.awaitPhase("stopped");
        assertFalse(Processes.alive(pid));
        for (String notAnObject : List.of("[]", "\"null\"", "nul", "null null", "\uFEFFnull null", "\uFEFF\uFEFFnull")) {
            assertEquals(422, core.post("/api/stop", notAnObject).status(), notAnObject);
        }
    }

    @Test
    void stopRefusesAForceThatIsNotABoolean() {
        var reply = core.post("/api/stop", "{\"force\": \"yes\"}");
        assertEquals(422, reply.status());
        assertEquals("'force' must be true or false", reply.json().get("detail"));
    }

    @Test
    void metricsCarryEveryKeyOfBothVersions() {
        startWorkload();
        var body = core.get("/api/metrics").json();
        assertTrue(TIMESTAMP.matcher((String) body.get("timestamp")).matches(), body.toString());
        assertEquals("running", body.get("app_status"));
        assertEquals("running", body.get("container_status"));
        @SuppressWarnings("unchecked")
        var system = (Map<String, Object>) body.get("system");
        assertEquals(List.of("cpu_percent", "memory_percent", "memory_available_mb", "memory_used_mb"),
                List.copyOf(system.keySet()).subList(0, 4));
        @SuppressWarnings("unchecked")
        var network = (Map<String, Object>) body.get("network");
        assertEquals(List.of("bytes_sent", "bytes_recv", "packets_sent", "packets_recv", "bytes_sent_mbps", "bytes_received_mbps"),
                List.copyOf(network.keySet()), "the Python core's counters, then the rates Showrunner's cards read");
        @SuppressWarnings("unchecked")
        var container = (Map<String, Object>) body.get("container");
        assertEquals(List.of("cpu_percent", "memory_percent"), List.copyOf(container.keySet()));
        @SuppressWarnings("unchecked")
        var process = (Map<String, Object>) body.get("process");
        assertEquals(core.status().get("pid"), process.get("pid"));
        assertEquals(Map.of("starts", 1), body.get("metrics"));
        assertEquals(body.get("metrics"), body.get("adapter_metrics"));
    }

    @Test
    void prometheusEndpointServesTypedFamiliesAndDropsBadAdapterFamilies() {
        adapter.families = List.of(
                MetricFamily.counter("flows_sent", "Requests sent.", 12),
                new MetricFamily("bad name", "broken", MetricType.GAUGE, List.of()),
                new MetricFamily("flow_rate", "Rate by flow.", MetricType.GAUGE,
                        List.of(new MetricFamily.Sample("flow_rate", Map.of("flow", "a"), 2.5),
                                new MetricFamily.Sample("flow_rate", Map.of("__reserved", "x"), 1))));
        var reply = core.get("/metrics");
        assertEquals(200, reply.status());
        assertTrue(reply.header("Content-Type").startsWith("text/plain; version=0.0.4"), reply.header("Content-Type"));
        String text = reply.body();
        for (String family : List.of("container_cpu_percent", "container_memory_percent", "container_memory_used_bytes")) {
            assertTrue(text.contains("# TYPE " + family + " gauge"), family);
        }
        for (String family : List.of("container_network_bytes_sent_total", "container_network_bytes_recv_total")) {
            assertTrue(text.contains("# TYPE " + family + " counter"), family);
        }
        assertTrue(text.contains("flows_sent_total 12.0"), text);
        assertFalse(text.contains("bad name"));
        assertFalse(text.contains("flow_rate"), "a family with an invalid label is dropped whole");
        assertTrue(text.contains("ccc_build_info{version="), text);
    }

    @Test
    void unknownPathsAre404AndWrongMethods405() {
        var missing = core.get("/api/nothing-here");
        assertEquals(404, missing.status());
        assertEquals(Map.of("detail", "Not Found"), missing.json());
        assertEquals(404, core.get("/metrics/extra").status());
        assertEquals(404, core.get("/").status());

        for (var call : List.of(List.of("GET", "/api/start"), List.of("DELETE", "/api/stop"), List.of("POST", "/api/health"),
                List.of("PUT", "/api/update"), List.of("POST", "/metrics"), List.of("POST", "/api/metrics"))) {
            var reply = core.send(call.get(0), call.get(1), null, null);
            assertEquals(405, reply.status(), call.toString());
            assertEquals(Map.of("detail", "Method Not Allowed"), reply.json());
            assertNotNull(reply.header("Allow"));
        }
    }

    @Test
    void oversizedBodiesAre413AndOtherContentTypes415() {
        String huge = "{\"flowfile\": \"" + "x".repeat(1 << 20) + "\"}";
        var tooLarge = core.post("/api/start", huge);
        assertEquals(413, tooLarge.status());
        assertTrue(((String) tooLarge.json().get("detail")).contains("1048576"));

        var form = core.send("POST", "/api/start", "flowfile=x", "application/x-www-form-urlencoded");
        assertEquals(415, form.status());
        assertTrue(((String) form.json().get("detail")).contains("application/json"));

        var charset = core.send("POST", "/api/start", "{\"flowfile\": \"f\"}", "application/json; charset=utf-8");
        assertEquals(200, charset.status());
        var noType = core.raw("POST /api/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        assertEquals(200, noType.status(), "a missing content type is read as JSON");
        assertEquals(Map.of("message", "stop initiated"), noType.json());
        assertEquals("healthy", core.get("/api/health").json().get("status"));
    }

    @Test
    void statusReportsTheWholeSnapshot() {
        var idle = core.status();
        for (String key : List.of("app_status", "phase", "pid", "started_at", "stopped_at", "exit_code", "restarts", "last_error", "adapter")) {
            assertTrue(idle.containsKey(key), key);
        }
        assertEquals("idle", idle.get("phase"));
        assertEquals("test.Adapter", idle.get("adapter"));
        startWorkload();
        core.post("/api/stop", null);
        var stopped = core.awaitPhase("stopped");
        assertEquals(143, stopped.get("exit_code"), "sleep ends on SIGTERM");
        assertEquals(null, stopped.get("last_error"));
    }
}
