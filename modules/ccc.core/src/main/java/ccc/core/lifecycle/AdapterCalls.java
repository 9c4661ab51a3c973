package ccc.core.lifecycle;

import ccc.core.adapters.AdapterThreads;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Runs adapter code on a platform thread of its own, bounded by a timeout, so that an adapter
 * that hangs or throws ends in a clear error instead of taking the lifecycle with it. Never a
 * virtual thread: adapter code may block where an interrupt does not reach (a FIFO's open, a
 * native call) and would hold its carrier ({@link AdapterThreads}). A call given up at its
 * timeout keeps its thread until it returns; at most {@link #MAX_RUNNING_CALLS} run at once.
 */
final class AdapterCalls {

    /**
     * Lifecycle calls into the adapter running at once, those given up at their timeouts
     * included. The lifecycle makes one call at a time, so more can only be calls that never
     * returned; beyond this bound the next call fails at once rather than start another thread.
     */
    static final int MAX_RUNNING_CALLS = 8;

    private static final AdapterThreads THREADS = new AdapterThreads("adapter lifecycle calls", MAX_RUNNING_CALLS);

    private AdapterCalls() {
    }

    /**
     * Calls {@code action}; after {@code timeout} gives up and interrupts it.
     *
     * @param lateResult receives a result that arrives after the timeout, so it can be cleaned up
     */
    static <T> T call(String what, Duration timeout, Callable<T> action, Consumer<T> lateResult)
            throws AdapterCallException {
        var result = new CompletableFuture<T>();
        Thread worker;
        try {
            worker = THREADS.start("adapter-" + what, () -> {
                try {
                    T value = action.call();
                    if (!result.complete(value) && value != null) {
                        lateResult.accept(value);
                    }
                } catch (Throwable error) {
                    result.completeExceptionally(error);
                    // An error of the virtual machine is no failure of the adapter's: it ends the core.
                    FatalErrors.rethrowIfFatalForAdapter(error);
                }
            });
        } catch (AdapterThreads.Saturated e) {
            throw new AdapterCallException(Failure.Kind.ADAPTER_TIMEOUT, "adapter " + what + " not called: " + e.getMessage(), null);
        }
        try {
            return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            if (result.completeExceptionally(e)) {
                worker.interrupt();
                throw new AdapterCallException(Failure.Kind.ADAPTER_TIMEOUT, "adapter " + what + " timed out after " + seconds(timeout), null);
            }
            return result.join();
        } catch (ExecutionException e) {
            throw new AdapterCallException(Failure.Kind.ADAPTER, "adapter " + what + " failed: " + Log.describe(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            worker.interrupt();
            throw new AdapterCallException(Failure.Kind.CORE, "adapter " + what + " interrupted", e);
        }
    }

    static void run(String what, Duration timeout, ThrowingRunnable action) throws AdapterCallException {
        call(what, timeout, () -> {
            action.run();
            return Boolean.TRUE;
        }, ignored -> { });
    }

    /**
     * Runs the core's own code in an adapter call's place (the process adapter's launch) on this
     * thread: it is no adapter code and returns once the workload's exec has begun, so it needs
     * neither a thread of its own nor a bound. It fails as the adapter call would.
     */
    static <T> T callHere(String what, Callable<T> action) throws AdapterCallException {
        try {
            return action.call();
        } catch (Exception e) {
            throw new AdapterCallException(Failure.Kind.ADAPTER, "adapter " + what + " failed: " + Log.describe(e), e);
        }
    }

    /** Calls one of the adapter's hooks, bounded by the hook timeout; a core without an adapter ({@link NoAdapter}) has none to call. */
    static void hook(LifecycleSetup setup, String what, ThrowingRunnable action) throws AdapterCallException {
        if (!(setup.adapter() instanceof NoAdapter)) {
            run(what, setup.timeouts().hookTimeout(), action);
        }
    }

    static String seconds(Duration duration) {
        double seconds = duration.toMillis() / 1000.0;
        return (seconds == Math.rint(seconds) ? String.valueOf((long) seconds) : String.valueOf(seconds)) + " s";
    }

    /** Adapter code without a result. */
    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
