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
import java.util.function.LongSupplier;

/**
 * Asks the adapter for its figures with a time limit, so that an adapter whose {@code metrics}
 * or {@code prometheusMetrics} hangs or throws never takes {@code /api/metrics} or
 * {@code /metrics} with it. An answer to {@code metrics} is kept for as long as the system
 * readings are ({@link MetricsService#READINGS_FRESH_FOR}), so a burst of {@code /api/metrics}
 * requests asks the adapter once, not once per request on a thread of its own. Requests that arrive while a call runs wait for that
 * call; once it has run past its limit, no second is started: requests get the error at once
 * instead of piling up threads behind it.
 */
final class AdapterFigures {

    private static final Log LOG = Log.named("metrics");
    private static final Duration LIMIT = Duration.ofSeconds(2);

    /** One call to the adapter: its answer when it completes, and when it began ({@link System#nanoTime()}). */
    private record Call<T>(CompletableFuture<T> answer, long began) {
    }

    private final Adapter adapter;
    private final LongSupplier clock;
    private final AtomicReference<Call<Map<String, Object>>> metricsCall = new AtomicReference<>();
    private final AtomicReference<Call<List<MetricFamily>>> familiesCall = new AtomicReference<>();

    AdapterFigures(Adapter adapter) {
        this(adapter, System::nanoTime);
    }

    AdapterFigures(Adapter adapter, LongSupplier clock) {
        this.adapter = adapter;
        this.clock = clock;
    }

    /** The adapter's map, or {@code {"error": ...}} when it threw or did not answer in time. */
    Map<String, Object> metrics() {
        try {
            Map<String, Object> metrics = call(metricsCall, adapter::metrics, "metrics", MetricsService.READINGS_FRESH_FOR);
            return metrics == null ? Map.of() : metrics;
        } catch (Exception e) {
            return Map.of("error", Log.describe(e));
        }
    }

    /** The adapter's families, or none when it threw or did not answer in time. */
    List<MetricFamily> families() {
        try {
            // Kept by the exposition rendered from them (CachedExposition), so not kept here too.
            List<MetricFamily> families = call(familiesCall, adapter::prometheusMetrics, "Prometheus metrics", Duration.ZERO);
            return families == null ? List.of() : families;
        } catch (Exception e) {
            return List.of();
        }
    }

    private <T> T call(AtomicReference<Call<T>> calls, Callable<T> action, String what, Duration keepFor) throws Exception {
        long now = clock.getAsLong();
        Call<T> current = calls.get();
        boolean fresh = current != null && current.answer().isDone() && !current.answer().isCompletedExceptionally()
                && now - current.began() < keepFor.toNanos();
        boolean running = current != null && !current.answer().isDone();
        if (running && now - current.began() >= LIMIT.toNanos()) {
            throw new TimeoutException("adapter " + what + " still running after an earlier call timed out");
        }
        if (!fresh && !running) {
            var started = new Call<T>(new CompletableFuture<>(), now);
            if (calls.compareAndSet(current, started)) {
                Thread.ofVirtual().name("adapter-" + what).start(() -> {
                    try {
                        started.answer().complete(action.call());
                    } catch (Throwable error) {
                        started.answer().completeExceptionally(error);
                        // An error of the virtual machine is no failure of the adapter's: it ends the core.
                        FatalErrors.rethrowIfFatal(error);
                    }
                });
            }
            current = calls.get();
        }
        long left = LIMIT.toNanos() - (clock.getAsLong() - current.began());
        try {
            return current.answer().get(Math.max(0, left), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            LOG.warn("adapter " + what + " timed out", "limit_s", LIMIT.toSeconds());
            throw new TimeoutException("adapter " + what + " timed out after " + LIMIT.toSeconds() + " s");
        } catch (ExecutionException e) {
            LOG.warn("adapter " + what + " failed", "reason", Log.describe(e.getCause()));
            throw e.getCause() instanceof Exception cause ? cause : new IllegalStateException(e.getCause());
        }
    }
}
