package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.config.CoreConfig;
import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.Snapshot;
import ccc.core.metrics.CgroupSample;
import ccc.core.metrics.Cgroups;
import ccc.core.metrics.HostReader;
import ccc.core.metrics.MetricsService;
import ccc.core.metrics.ProcessMetrics;
import ccc.core.metrics.SystemMetrics;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A burst of metrics requests reads the cgroup once, not once per request. */
class MetricsCacheTest {

    @Test
    void aBurstReadsTheSystemOnce() throws Exception {
        var reads = new AtomicInteger();
        Cgroups.Reader counting = () -> {
            reads.incrementAndGet();
            return new CgroupSample(2, 1_000_000, 0, 0, 0, 1 << 20, 0, 0, 0, 1);
        };
        CoreConfig config = TestCore.config("");
        var adapter = new SleepAdapter();
        java.util.function.Supplier<Snapshot> lifecycle = () -> new Snapshot(Phase.RUNNING, "test", java.util.OptionalLong.empty(),
                Optional.empty(), Optional.empty(), java.util.OptionalInt.empty(), 0, java.util.List.of());
        var system = new SystemMetrics(HostReader.system(), Optional.of(counting), config.metrics());
        var metrics = new MetricsService(system, new ProcessMetrics(Path.of("/proc")), config.metrics(), lifecycle, adapter);
        int atConstruction = reads.get();
        var go = new CountDownLatch(1);
        try (var clients = Executors.newFixedThreadPool(32)) {
            for (int i = 0; i < 64; i++) {
                clients.execute(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    assertEquals("running", metrics.json().get("container_status"));
                    metrics.systemReading();
                });
            }
            go.countDown();
        }
        int duringBurst = reads.get() - atConstruction;
        assertTrue(duringBurst >= 1 && duringBurst <= 2, "64 requests read the cgroup " + duringBurst + " times");
    }
}
