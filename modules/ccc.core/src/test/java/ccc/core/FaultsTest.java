package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.AdapterContext;
import ccc.api.MetricFamily;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadExit;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Adapter hooks that throw or hang, where LifecycleTest does not already cover them: each ends in a clear state. */
class FaultsTest {

    private TestCore core;
    private SleepAdapter adapter;

    @AfterEach
    void stop() {
        core.close();
        Processes.killAll(adapter.marker);
    }

    @Test
    void aHangingUpdateIsBoundedAndTheWorkloadKeepsRunning() throws Exception {
        adapter = new SleepAdapter() {
            @Override
            public UpdateResult update(Payload payload) {
                try {
                    Thread.sleep(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return UpdateResult.APPLIED;
            }
        };
        core = TestCore.start(adapter, "");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        var reply = core.post("/api/update", "{}");
        assertEquals(500, reply.status());
        assertEquals("adapter update timed out after 2 s", reply.json().get("detail"));
        assertEquals("running", core.status().get("phase"));
        assertEquals(Map.of("message", "stop initiated"), core.post("/api/stop", null).json());
        core.awaitPhase("stopped");
    }

    /**
     * An adapter that starts threads of its own (an HTTP client's, say) is refused one when the
     * workload has filled the container's process limit: that fails the adapter's call, as any
     * exception would, and never reaches the fatal error handler that would halt the core.
     */
    @Test
    void anAdapterRefusedAThreadOfItsOwnFailsItsCallNotTheCore() throws Exception {
        var outOfThreads = new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
        adapter = new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) {
                throw outOfThreads;
            }

            @Override
            public Map<String, Object> metrics() {
                throw outOfThreads;
            }
        };
        var uncaught = new java.util.concurrent.CompletableFuture<Throwable>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        // In the core the default handler is FatalErrors', which halts; here it only records.
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> uncaught.complete(error));
        try {
            core = TestCore.start(adapter, "");
            core.post("/api/start", "{}");
            var failed = core.awaitPhase("failed");
            assertEquals("adapter start failed: " + outOfThreads.getMessage(), failed.get("last_error"));
            var metrics = core.get("/api/metrics");
            assertEquals(200, metrics.status());
            assertEquals(Map.of("error", outOfThreads.getMessage()), metrics.json().get("adapter_metrics"), "as the start's last_error says it");
            assertFalse(uncaught.isDone(), "the fatal error handler was given " + uncaught.getNow(null));
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void throwingMetricsNeverBreakTheMetricsEndpoints() throws Exception {
        adapter = new SleepAdapter() {
            @Override
            public Map<String, Object> metrics() {
                throw new IllegalStateException("metrics source down");
            }

            @Override
            public List<MetricFamily> prometheusMetrics() {
                throw new IllegalStateException("exporter down");
            }
        };
        core = TestCore.start(adapter, "");
        var metrics = core.get("/api/metrics");
        assertEquals(200, metrics.status());
        assertEquals(Map.of("error", "metrics source down"), metrics.json().get("adapter_metrics"));
        var prometheus = core.get("/metrics");
        assertEquals(200, prometheus.status());
        assertTrue(prometheus.body().contains("# TYPE container_cpu_percent gauge"));
    }

    @Test
    void hangingMetricsAreBoundedAndDoNotPileUp() throws Exception {
        adapter = new SleepAdapter() {
            @Override
            public Map<String, Object> metrics() {
                // Hung where the core's interrupt does not reach it (as on a FIFO's open), for longer than the test.
                long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < until) {
                    try {
                        Thread.sleep(Duration.ofNanos(until - System.nanoTime()));
                    } catch (InterruptedException ignored) {
                        // Ignored, as by code blocked in the kernel.
                    }
                }
                return Map.of();
            }

            @Override
            public List<MetricFamily> prometheusMetrics() {
                return metrics().isEmpty() ? List.of() : List.of();
            }
        };
        core = TestCore.start(adapter, "");
        long began = System.nanoTime();
        var first = core.get("/api/metrics");
        assertEquals(200, first.status());
        assertEquals(Map.of("error", "adapter metrics timed out after 2 s"), first.json().get("adapter_metrics"));
        assertTrue((System.nanoTime() - began) / 1_000_000 < 10_000);
        long again = System.nanoTime();
        var second = core.get("/api/metrics");
        assertTrue((System.nanoTime() - again) / 1_000_000 < 1_000, "a second request does not wait behind the hung call");
        String error = String.valueOf(((Map<?, ?>) second.json().get("adapter_metrics")).get("error"));
        assertTrue(error.startsWith("adapter metrics still running after an earlier call timed out"), error);
        var scrape = core.get("/metrics");
        assertEquals(200, scrape.status());
        assertTrue(scrape.body().contains("# TYPE container_cpu_percent gauge"));
        assertEquals(200, core.get("/api/health").status());
    }

    @Test
    void oddAdapterMetricValuesStillMakeValidJson() throws Exception {
        adapter = new SleepAdapter() {
            @Override
            public Map<String, Object> metrics() {
                return Map.of("object", new Object(), "not_a_number", Double.NaN, "list", List.of(1, "two"));
            }
        };
        core = TestCore.start(adapter, "");
        var metrics = core.get("/api/metrics");
        assertEquals(200, metrics.status(), metrics.body());
        var adapterMetrics = (Map<?, ?>) metrics.json().get("adapter_metrics");
        assertEquals(List.of(1, "two"), adapterMetrics.get("list"));
        assertEquals("NaN", adapterMetrics.get("not_a_number"));
    }

    @Test
    void aSelfReferencingMetricsMapFailsOnlyTheAdapterFigures() throws Exception {
        // Written as it was, the map recursed until the stack overflowed, in whatever the writer was doing then: a class
        // being initialised there stays broken for the life of the JVM ("Could not initialize class java.util.Formatter").
        adapter = new SleepAdapter() {
            @Override
            public Map<String, Object> metrics() {
                var loop = new java.util.HashMap<String, Object>();
                loop.put("self", loop);
                return loop;
            }
        };
        core = TestCore.start(adapter, "");
        var metrics = core.get("/api/metrics");
        assertEquals(200, metrics.status(), metrics.body());
        assertTrue(metrics.json().get("system") instanceof Map<?, ?>, "the container's figures are served: " + metrics.body());
        var adapterMetrics = (Map<?, ?>) metrics.json().get("adapter_metrics");
        assertEquals(Map.of("error", "adapter metrics nest deeper than " + ccc.core.json.Json.MAX_NESTING_DEPTH
                + " levels (a map or list that holds itself?)"), adapterMetrics);
        assertEquals(adapterMetrics, metrics.json().get("metrics"));
        assertEquals(200, core.get("/api/health").status());
    }

    @Test
    void figuresOfTypesJsonLacksAreWrittenAsTheirValueAndNeverChanged() throws Exception {
        // The JSON writer took these for beans and called their getters: an AtomicLong came out as
        // {"acquire":5,"andDecrement":5,"andIncrement":4,...}, its getAndIncrement and getAndDecrement called by each request.
        var sent = new java.util.concurrent.atomic.AtomicLong(5);
        var received = new java.util.concurrent.atomic.LongAdder();
        received.add(7);
        var started = java.time.Instant.parse("2026-11-29T10:00:00Z");
        adapter = new SleepAdapter() {
            @Override
            public Map<String, Object> metrics() {
                return Map.of("sent", sent, "received", received, "started", started,
                        "stats_file", java.nio.file.Path.of("/srv/app/stats.json"), "uptime", java.time.Duration.ofSeconds(90),
                        "ratios", new double[] {0.5, 0.25}, "nested", Map.of("open", java.util.Optional.of(3)));
            }
        };
        core = TestCore.start(adapter, "");
        var metrics = core.get("/api/metrics");
        assertEquals(200, metrics.status(), metrics.body());
        assertEquals(Map.of("sent", 5, "received", 7, "started", "2026-11-29T10:00:00Z", "stats_file", "/srv/app/stats.json",
                "uptime", "PT1M30S", "ratios", List.of(0.5, 0.25), "nested", Map.of("open", "Optional[3]")),
                metrics.json().get("adapter_metrics"));
        assertEquals(5, sent.get(), "the adapter's counter was changed by writing it");
    }

    @Test
    void whatAFailedStartLaunchedIsEndedWithIt() throws Exception {
        // A start that launches its workload and then throws, or hangs past its timeout, never hands it back: nothing
        // stopped it, and it ran on beside every later workload until the core ended.
        adapter = new SleepAdapter() {
            @Override
            public ccc.api.Workload start(Payload payload, ccc.api.AdapterContext context) throws Exception {
                context.launch(ccc.api.Launch.of("sleep", marker));
                if (payload.has("hang")) {
                    Thread.sleep(Duration.ofHours(1));
                }
                throw new IllegalStateException("configuration push failed after the launch");
            }
        };
        core = TestCore.start(adapter, "");
        for (String payload : List.of("{}", "{\"hang\": true}")) {
            core.post("/api/start", payload);
            var failed = core.awaitPhase("failed");
            assertTrue(String.valueOf(failed.get("last_error")).startsWith("adapter start "), failed.toString());
            assertEquals(List.of(), Processes.settledWithArgument(adapter.marker, List.of()), "left running after " + payload);
        }
    }

    @Test
    void aThrowingOrHangingExitHookDoesNotStopTheLifecycle() throws Exception {
        adapter = new SleepAdapter() {
            @Override
            public void onWorkloadExit(WorkloadExit exit) {
                if (exit.requested()) {
                    throw new IllegalStateException("exit hook broken");
                }
                try {
                    Thread.sleep(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        core = TestCore.start(adapter, "");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        core.post("/api/stop", null);
        core.awaitPhase("stopped");
        adapter.command = List.of("sh", "-c", "exit 5", adapter.marker);
        core.post("/api/start", "{}");
        var status = core.awaitStatus(s -> "failed".equals(s.get("phase")), Duration.ofSeconds(15));
        assertEquals(5, status.get("exit_code"));
        assertEquals(200, core.get("/api/health").status());
    }
}
