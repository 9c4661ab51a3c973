package ccc.core.process;

import ccc.core.log.FatalErrors;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;

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

    private static final ThreadPoolExecutor POOL = (ThreadPoolExecutor) Executors.newCachedThreadPool(
            Thread.ofPlatform().name("workload-wait-", 0).daemon(true).factory());

    private WaitingThreads() {
    }

    /**
     * Runs {@code task} on a waiting thread named {@code name} while it runs; completes when it has.
     *
     * @throws IOException if no thread was idle and none could be started for {@code purpose}: the
     *     processes and threads the core shares with its workload are all taken (a container's
     *     {@code pids.max}, which the workload can fill by forking); the caller fails what needed it
     */
    static CompletableFuture<Void> run(String name, String purpose, Runnable task) throws IOException {
        var done = new CompletableFuture<Void>();
        try {
            POOL.execute(waiting(name, task, done));
        } catch (OutOfMemoryError e) {
            if (!FatalErrors.noThreadLeft(e)) {
                throw e;
            }
            throw new IOException("no thread could be started for " + purpose + " (" + e.getMessage() + ")", e);
        }
        return done;
    }

    /** How many threads wait idle for a task now (a moment's figure): for tests. */
    static int idleThreads() {
        return POOL.getPoolSize() - POOL.getActiveCount();
    }

    private static Runnable waiting(String name, Runnable task, CompletableFuture<Void> done) {
        return () -> {
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
        };
    }
}
