package ccc.core.metrics;

import ccc.api.Adapter;
import ccc.api.MetricFamily;
import ccc.core.adapters.AdapterThreads;
import ccc.core.json.Json;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Asks the adapter for its figures with a time limit, so that an adapter whose {@code metrics}
 * or {@code prometheusMetrics} hangs or throws never takes {@code /api/metrics} or
 * {@code /metrics} with it. An answer to {@code metrics} is kept for as long as the system
 * readings are ({@link MetricsService#READINGS_FRESH_FOR}), so a burst of {@code /api/metrics}
 * requests asks the adapter once, not once per request on a thread of its own. Requests that
 * arrive while a call runs wait for that call, up to {@link #LIMIT}.
 *
 * <p>Adapter code runs on platform threads ({@link AdapterThreads}): it may block where no
 * interrupt reaches it (the example adapter opening a FIFO its workload swapped in for its stats
 * file), and on a virtual thread it would hold a carrier of the HTTP server. A call that runs past
 * its limit is interrupted and given up: while it runs no second call is started for the same
 * workload, and requests get the error at once instead of piling up threads behind it. It is
 * asked again once the workload has been started again (the adapter's state is new, and a
 * workload that planted the trap is gone), or {@link #RETRY_AFTER} after the call began; calls
 * that never return are bounded by {@link #MAX_RUNNING_CALLS}, after which the figures stay an
 * error until one of them ends.
 */
final class AdapterFigures {

    private static final Log LOG = Log.named("metrics");
    /** How long a request waits for the adapter's answer. */
    static final Duration LIMIT = Duration.ofSeconds(2);
    /** A call given up at its limit is followed by another, for the same workload, no sooner than this after it began. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(30);
    /** Calls for figures running at once: one of each kind at a time, and those given up that have not returned. */
    static final int MAX_RUNNING_CALLS = 4;

    /** One call to the adapter: its answer, when it began ({@link System#nanoTime()}), for which run of the workload, and its thread. */
    private record Call<T>(CompletableFuture<T> answer, long began, Optional<Instant> workloadRun, Thread worker) {
    }

    private final Adapter adapter;
    private final LongSupplier clock;
    private final Supplier<Optional<Instant>> workloadRun;
    private final AdapterThreads threads = new AdapterThreads("adapter calls for figures", MAX_RUNNING_CALLS);
    private final AtomicReference<Call<Map<String, Object>>> metricsCall = new AtomicReference<>();
    private final AtomicReference<Call<List<MetricFamily>>> familiesCall = new AtomicReference<>();

    /**
     * @param workloadRun when the running workload started (empty while none runs): a change is a
     *     new run of the workload, which a call given up for the previous one does not hold back
     */
    AdapterFigures(Adapter adapter, Supplier<Optional<Instant>> workloadRun) {
        this(adapter, System::nanoTime, workloadRun);
    }

    AdapterFigures(Adapter adapter, LongSupplier clock, Supplier<Optional<Instant>> workloadRun) {
        this.adapter = adapter;
        this.clock = clock;
        this.workloadRun = workloadRun;
    }

    /** The adapter's map, or {@code {"error": ...}} when it threw or did not answer in time. */
    Map<String, Object> metrics() {
        try {
            // Made plain JSON on the adapter's thread: what cannot be written fails these figures, never the whole answer.
            return call(metricsCall, this::plainMetrics, "metrics", MetricsService.READINGS_FRESH_FOR);
        } catch (Exception e) {
            return Map.of("error", Log.describe(e));
        }
    }

    private Map<String, Object> plainMetrics() {
        Map<String, Object> metrics = adapter.metrics();
        try {
            return metrics == null ? Map.of() : Json.plainCopy(metrics);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("adapter metrics " + e.getMessage(), e);
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

    /** How many calls into the adapter for figures are running now, those given up included. */
    int running() {
        return threads.running();
    }

    private <T> T call(AtomicReference<Call<T>> calls, Callable<T> action, String what, Duration keepFor) throws Exception {
        Call<T> current = calls.get();
        if (current == null || !fresh(current, keepFor)) {
            try {
                current = callAgainIfDue(calls, action, what);
            } catch (AdapterThreads.Saturated e) {
                // Not logged: every request would log it, and requests may come from anyone.
                throw new IllegalStateException("adapter " + what + " not asked: " + e.getMessage());
            }
        }
        long left = LIMIT.toNanos() - (clock.getAsLong() - current.began());
        try {
            return current.answer().get(Math.max(0, left), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            if (left > 0) {
                LOG.warn("adapter " + what + " timed out; it is given up", "limit_s", LIMIT.toSeconds());
                current.worker().interrupt();
                throw new TimeoutException("adapter " + what + " timed out after " + LIMIT.toSeconds() + " s");
            }
            throw new TimeoutException("adapter " + what + " still running after an earlier call timed out; it is asked again"
                    + " when the workload starts again, or " + RETRY_AFTER.toSeconds() + " s after that call began");
        } catch (ExecutionException e) {
            LOG.warn("adapter " + what + " failed", "reason", Log.describe(e.getCause()));
            throw e.getCause() instanceof Exception cause ? cause : new IllegalStateException(Log.describe(e.getCause()), e.getCause());
        }
    }

    private boolean fresh(Call<?> call, Duration keepFor) {
        return call.answer().isDone() && !call.answer().isCompletedExceptionally() && clock.getAsLong() - call.began() < keepFor.toNanos();
    }

    /**
     * The call to wait for: the one running, unless it ran past its limit and is due to be
     * followed by another, or none runs; then a new one (one decision at a time, so a burst of
     * requests starts one call).
     */
    private <T> Call<T> callAgainIfDue(AtomicReference<Call<T>> calls, Callable<T> action, String what) throws AdapterThreads.Saturated {
        synchronized (calls) {
            Call<T> current = calls.get();
            long now = clock.getAsLong();
            Optional<Instant> run = workloadRun.get();
            if (current != null && !current.answer().isDone()) {
                boolean givenUp = now - current.began() >= LIMIT.toNanos();
                boolean due = givenUp && (!current.workloadRun().equals(run) || now - current.began() >= RETRY_AFTER.toNanos());
                if (!due) {
                    return current;
                }
            }
            var answer = new CompletableFuture<T>();
            Thread worker = threads.start("adapter-" + what, () -> {
                try {
                    answer.complete(action.call());
                } catch (Throwable error) {
                    answer.completeExceptionally(error);
                    // An error of the virtual machine is no failure of the adapter's: it ends the core.
                    FatalErrors.rethrowIfFatalForAdapter(error);
                }
            });
            var started = new Call<>(answer, now, run, worker);
            calls.set(started);
            return started;
        }
    }
}
