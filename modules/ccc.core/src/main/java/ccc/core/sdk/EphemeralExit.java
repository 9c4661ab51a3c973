package ccc.core.sdk;

import ccc.core.lifecycle.LifecycleObserver;
import ccc.core.lifecycle.Snapshot;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code showrunner_sdk.lifecycle: ephemeral}: the workload is a job, and the core's exit code is
 * its result. When the workload ends for good this gives the code the core exits with: the
 * workload's own (128 + N after signal N), or {@link #START_FAILED} when it never ran.
 */
public final class EphemeralExit implements LifecycleObserver {

    /**
     * The exit code when the workload could not start (the file refused, a payload the core
     * refuses, a failed start sequence): 2, as the core exits when its own configuration is wrong.
     */
    public static final int START_FAILED = 2;

    private final CompletableFuture<Integer> exitCode = new CompletableFuture<>();

    /** The code the core should exit with, once the workload has ended for good. */
    public CompletionStage<Integer> exitCode() {
        return exitCode;
    }

    /** The exit code an ephemeral core reports for the lifecycle's last snapshot. */
    public static int exitCodeOf(Snapshot last) {
        if (last.exitCode().isEmpty()) {
            return START_FAILED;
        }
        int code = last.exitCode().getAsInt();
        // A code no process exits with (an adapter's own workload may give one) is the core's failure too.
        return code >= 0 && code <= 255 ? code : START_FAILED;
    }



    @Override
    public void endedForGood(Snapshot last) {
        exitCode.complete(exitCodeOf(last));
    }
}
