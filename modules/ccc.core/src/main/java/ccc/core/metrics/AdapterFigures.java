package ccc.core.metrics;

import ccc.api.Adapter;
import ccc.api.MetricFamily;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Asks the adapter for its figures with a time limit, so that an adapter whose {@code metrics}
 * or {@code prometheusMetrics} hangs or throws never takes {@code /api/metrics} or
 * {@code /metrics} with it. While one call hangs, no second is started: requests get the error
 * at once instead of piling up threads behind it.
 */
final class AdapterFigures {

    private static final Log LOG = Log.named("metrics");
    private static final Duration LIMIT = Duration.ofSeconds(2);

    private final Adapter adapter;
    private final AtomicReference<CompletableFuture<Map<String, Object>>> metricsInFlight = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<List<MetricFamily>>> familiesInFlight = new AtomicReference<>();

    AdapterFigures(Adapter adapter) {
        this.adapter = adapter;
    }

    /** The adapter's map, or {@code {"error": ...}} when it threw or did not answer in time. */
    Map<String, Object> metrics() {
        try {
            Map<String, Object> metrics = call(metricsInFlight, adapter::metrics, "metrics");
            return metrics == null ? Map.of() : metrics;
        } catch (Exception e) {
            return Map.of("error", Log.describe(e));
        }
    }

    /** The adapter's families, or none when it threw or did not answer in time. */
    List<MetricFamily> families() {
        try {
            List<MetricFamily> families = call(familiesInFlight, adapter::prometheusMetrics, "Prometheus metrics");
            return families == null ? List.of() : families;
        } catch (Exception e) {
            return List.of();
        }
    }

    private static <T> T call(AtomicReference<CompletableFuture<T>> inFlight, Callable<T> action, String what) throws Exception {
        CompletableFuture<T> pending = inFlight.get();
        if (pending != null && !pending.isDone()) {
            throw new TimeoutException("adapter " + what + " still running after an earlier call timed out");
        }
        var result = new CompletableFuture<T>();
        inFlight.set(result);
        Thread.ofVirtual().name("adapter-" + what).start(() -> {
            try {
                result.complete(action.call());
            } catch (Throwable error) {
                result.completeExceptionally(error);
                // An error of the virtual machine is no failure of the adapter's: it ends the core.
                FatalErrors.rethrowIfFatal(error);
            }
        });
        try {
            return result.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("adapter " + what + " timed out", "limit_s", LIMIT.toSeconds());
            throw new TimeoutException("adapter " + what + " timed out after " + LIMIT.toSeconds() + " s");
        } catch (ExecutionException e) {
            LOG.warn("adapter " + what + " failed", "reason", Log.describe(e.getCause()));
            throw e.getCause() instanceof Exception cause ? cause : new IllegalStateException(e.getCause());
        }
    }
}
