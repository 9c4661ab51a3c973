package ccc.core.adapters;

import ccc.core.log.FatalErrors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Platform threads for adapter code, at most {@code limit} of them running at once.
 *
 * <p>Adapter code is arbitrary: it may open a FIFO the workload planted, call a native library,
 * or read a file on a stalled network file system, and so block in the kernel where no interrupt
 * reaches it. On a virtual thread such a call holds its carrier for as long as it blocks; with
 * one CPU there is one carrier, and the whole HTTP server stops with it. So adapter code runs on
 * platform threads, which block alone. A call that never returns keeps its thread, so they are
 * counted: once {@code limit} are still running, no other is started until one ends, and the
 * caller gets {@link Saturated} at once instead of another stuck thread.
 */
public final class AdapterThreads {

    private final String purpose;
    private final int limit;
    private final AtomicInteger running = new AtomicInteger();

    /**
     * @param purpose what the threads are for, in the refusal's words ("adapter lifecycle calls")
     * @param limit how many may run at once
     */
    public AdapterThreads(String purpose, int limit) {
        this.purpose = purpose;
        this.limit = limit;
    }

    /**
     * No thread was started: {@code limit} calls are still running, and adapter code that never
     * returns holds them; or the system would create no thread ({@link FatalErrors#noThreadLeft}).
     */
    public static final class Saturated extends Exception {
        private static final long serialVersionUID = 1L;

        Saturated(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Runs {@code action} on a daemon platform thread named {@code name}.
     *
     * @throws Saturated when {@code limit} calls are running still, or no thread could be created
     */
    public Thread start(String name, Runnable action) throws Saturated {
        int now;
        do {
            now = running.get();
            if (now >= limit) {
                throw new Saturated(limit + " " + purpose + " are still running (adapter code that does not return,"
                        + " or blocks where no interrupt reaches it); no other is started until one of them ends");
            }
        } while (!running.compareAndSet(now, now + 1));
        try {
            return Thread.ofPlatform().name(name).daemon(true).start(() -> {
                try {
                    action.run();
                } finally {
                    running.decrementAndGet();
                }
            });
        } catch (RuntimeException | Error e) {
            running.decrementAndGet();
            if (FatalErrors.noThreadLeft(e)) {
                throw new Saturated("no thread could be started for " + purpose + " (" + e.getMessage() + ")");
            }
            throw e;
        }
    }

    /** How many are running now. */
    public int running() {
        return running.get();
    }
}
