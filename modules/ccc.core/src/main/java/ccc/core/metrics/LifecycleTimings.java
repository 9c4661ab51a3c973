package ccc.core.metrics;

import ccc.core.lifecycle.LifecycleObserver;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Histogram;
import java.time.Duration;

/** How long starts and stops take, as Prometheus histograms; the lifecycle reports to it. */
public final class LifecycleTimings implements LifecycleObserver {

    private static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final Histogram starts = Histogram.build("ccc_start_duration_seconds",
            "Time from the start of a start sequence until the workload runs.").buckets(BUCKETS).create();
    private final Histogram stops = Histogram.build("ccc_stop_duration_seconds",
            "Time a stop sequence takes, until nothing of the workload is left.").buckets(BUCKETS).create();

    @Override
    public void started(Duration took) {
        starts.observe(took.toNanos() / 1e9);
    }

    @Override
    public void stopped(Duration took) {
        stops.observe(took.toNanos() / 1e9);
    }

    void register(CollectorRegistry registry) {
        starts.register(registry);
        stops.register(registry);
    }
}
