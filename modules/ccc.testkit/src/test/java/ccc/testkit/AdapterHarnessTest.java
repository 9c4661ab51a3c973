package ccc.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadProcess;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The test kit drives an adapter through the core's real lifecycle and launcher. */
class AdapterHarnessTest {

    /** Runs a real {@code sh} that prints its argument, and answers updates by signal. */
    static final class EchoAdapter implements Adapter {
        private volatile WorkloadProcess process;

        @Override
        public Workload start(Payload payload, AdapterContext context) throws Exception {
            process = context.launch(Launch.of("sh", "-c", "echo started $0; trap 'echo reloaded' HUP; while :; do sleep 0.05; done",
                    payload.require("name")));
            return process;
        }

        @Override
        public void stop() throws Exception {
            WorkloadProcess current = process;
            if (current != null && current.signal("TERM")) {
                current.exit().toCompletableFuture().get(5, TimeUnit.SECONDS);
            }
        }

        @Override
        public UpdateResult update(Payload payload) {
            return process != null && process.signal("HUP") ? UpdateResult.APPLIED : UpdateResult.DECLINED;
        }

        @Override
        public Map<String, Object> metrics() {
            WorkloadProcess current = process;
            return Map.of("alive", current != null && current.isAlive());
        }
    }

    @Test
    void anAdapterRunsThroughTheRealLifecycle() {
        try (var harness = AdapterHarness.of(new EchoAdapter())) {
            assertEquals("initializing", harness.appStatus());
            harness.start(Map.of("name", "echo-test"));
            assertEquals("running", harness.appStatus(), harness.lastError().orElse(""));
            assertTrue(harness.pid().isPresent());
            harness.awaitOutput("started echo-test");
            harness.awaitMetrics(metrics -> Boolean.TRUE.equals(metrics.get("alive")));
            assertEquals(UpdateResult.APPLIED, harness.update(Map.of("any", "thing")));
            harness.awaitOutput("reloaded");
            harness.stop();
            assertEquals("stopped", harness.appStatus());
            assertEquals("stopped", harness.phase());
            assertTrue(harness.pid().isEmpty());
        }
    }

    @Test
    void aRefusedRequestIsAnIllegalArgumentAsTheApiWouldAnswer400() {
        try (var harness = AdapterHarness.of(new EchoAdapter(),
                "adapter:\n  class: " + EchoAdapter.class.getName() + "\n  primary_payload_key: name\n")) {
            var refused = assertThrows(IllegalArgumentException.class, () -> harness.start(Map.of()));
            assertEquals("Missing primary payload key 'name'", refused.getMessage());
            assertEquals("initializing", harness.appStatus(), "nothing was queued");
        }
    }

    @Test
    void anUpdateWithNothingRunningSaysSo() {
        try (var harness = AdapterHarness.of(new EchoAdapter())) {
            var notRunning = assertThrows(IllegalStateException.class, () -> harness.update(Map.of()));
            assertEquals("application not running", notRunning.getMessage());
        }
    }

    @Test
    void anInvalidConfigurationIsRefusedWithTheCoresMessage() {
        var invalid = assertThrows(IllegalArgumentException.class,
                () -> AdapterHarness.of(new EchoAdapter(), "adapter:\n  class: x.Y\nlifecycle:\n  start_timeout_seconds: -1\n"));
        assertTrue(invalid.getMessage().startsWith("lifecycle.start_timeout_seconds: "), invalid.getMessage());
    }

    @Test
    void loadingAnAdapterThatNoModuleProvidesNamesWhatWasFound() {
        var missing = assertThrows(IllegalArgumentException.class, () -> AdapterHarness.load("com.example.Missing"));
        assertTrue(missing.getMessage().contains("no adapter 'com.example.Missing' found"), missing.getMessage());
        assertFalse(missing.getMessage().isBlank());
    }
}
