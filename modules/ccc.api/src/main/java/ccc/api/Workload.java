package ccc.api;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * What {@link Adapter#start} hands back: a running workload that the core watches, so that a
 * workload ending on its own is noticed ({@code stopped} for exit code 0, else {@code error}).
 *
 * @since 0.1
 */
public interface Workload {

    /**
     * The workload's process id, when it is a process. The core's own pid, or one of 1 or less, is
     * taken for none: the core never signals itself, a whole process group or init through it.
     */
    default OptionalLong pid() {
        return OptionalLong.empty();
    }

    /**
     * Completes with the exit code when the workload ends (128 + N for a process killed by
     * signal N). A workload whose end cannot be observed returns a stage that never completes.
     */
    CompletionStage<Integer> exit();

    /**
     * A workload that is one operating-system process, for example one started with {@link ProcessBuilder}.
     * Its exit is reported by a thread of its own that waits for the process, the moment the
     * JDK has reaped it.
     */
    static Workload of(Process process) {
        Objects.requireNonNull(process, "process");
        // Not Process.onExit(): that runs on the common fork-join pool, whose one worker here can be held
        // by the JDK's own exit handling (it waits for the output pipes to be drained), so the exit would wait
        // for every process that keeps the pipes open.
        var exit = new CompletableFuture<Integer>();
        Thread.ofVirtual().name("workload-exit-" + process.pid()).start(() -> {
            try {
                exit.complete(process.waitFor());
            } catch (InterruptedException e) {
                // Nothing interrupts this thread of its own; should anything, the watch ends visibly.
                exit.completeExceptionally(e);
            }
        });
        return new Workload() {
            @Override
            public OptionalLong pid() {
                return OptionalLong.of(process.pid());
            }

            @Override
            public CompletionStage<Integer> exit() {
                return exit;
            }
        };
    }

    /**
     * A workload whose liveness the adapter reports, for example threads inside the adapter.
     * The core asks {@code alive} every {@code interval}; once it answers false the workload has
     * ended, with the code {@code exitCodeWhenEnded} supplies.
     */
    static Workload polling(BooleanSupplier alive, Duration interval, IntSupplier exitCodeWhenEnded) {
        Objects.requireNonNull(alive, "alive");
        Objects.requireNonNull(exitCodeWhenEnded, "exitCodeWhenEnded");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive: " + interval);
        }
        var exit = new CompletableFuture<Integer>();
        Thread.ofVirtual().name("workload-liveness").start(() -> {
            try {
                while (alive.getAsBoolean()) {
                    Thread.sleep(interval);
                }
                exit.complete(exitCodeWhenEnded.getAsInt());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                exit.completeExceptionally(e);
            }
        });
        return () -> exit;
    }

    /** A workload whose end cannot be observed; the core only learns of its end by a stop. */
    static Workload untracked() {
        var never = new CompletableFuture<Integer>();
        return () -> never;
    }
}
