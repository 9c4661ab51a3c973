package ccc.core.process;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The platform threads that block for a workload the core started: the wait for its exit and
 * the pumps of its output. Each blocks in the kernel for as long as the workload likes, so they
 * are platform threads (on a virtual thread such a read would hold a carrier the HTTP server
 * needs). They are kept a minute once idle and used again: starting a platform thread waits
 * until the new thread runs, which on a loaded machine takes milliseconds, and a start or
 * restart would pay it three times. One runs for each wait open, as before: three per workload
 * the core runs, and none is kept once a minute idle.
 */
final class WaitingThreads {

    private static final ExecutorService POOL = Executors.newCachedThreadPool(
            Thread.ofPlatform().name("workload-wait-", 0).daemon(true).factory());

    private WaitingThreads() {
    }

    /** Runs {@code task} on a waiting thread named {@code name} while it runs; completes when it has. */
    static CompletableFuture<Void> run(String name, Runnable task) {
        var done = new CompletableFuture<Void>();
        POOL.execute(() -> {
            Thread thread = Thread.currentThread();
            String idle = thread.getName();
            thread.setName(name);
            try {
                task.run();
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
                throw e;
            } finally {
                thread.setName(idle);
            }
        });
        return done;
    }
}
