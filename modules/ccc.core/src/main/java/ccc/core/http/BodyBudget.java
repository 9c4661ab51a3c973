package ccc.core.http;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The request bodies the core holds at once, in bytes: a body (up to {@code server.max_body_bytes})
 * is read only once its size, or the limit when it is not declared, fits in the budget, and its
 * share comes back when its request is answered. Without it, a few hundred clients each sending
 * all but the last byte of a large body would fill the heap.
 */
final class BodyBudget {

    /**
     * The bytes of bodies held at once: parsed, a body takes a few times its size in the heap, so
     * this keeps them to a fraction of the core's 96 MiB.
     */
    static final long DEFAULT_BYTES = 8L * 1024 * 1024;
    /** How long a body waits for its share before the request is answered 503. */
    static final Duration WAIT = Duration.ofSeconds(5);

    private static final int KIB = 1024;

    private final Semaphore kibibytes;
    private final int totalKib;

    /** A budget of {@link #DEFAULT_BYTES}, or of one body of {@code maxBodyBytes} when that is larger. */
    BodyBudget(long maxBodyBytes) {
        this.totalKib = kib(Math.max(DEFAULT_BYTES, maxBodyBytes));
        this.kibibytes = new Semaphore(totalKib, true);
    }

    private static int kib(long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, (bytes + KIB - 1) / KIB);
    }

    /**
     * Takes {@code bytes} of the budget, waiting up to {@link #WAIT}.
     *
     * @return what was taken, to be given back with {@link #release}
     * @throws HttpError 503 when it cannot be had in time
     */
    long reserve(long bytes) throws HttpError {
        int wanted = Math.min(totalKib, kib(bytes));
        try {
            if (wanted == 0 || kibibytes.tryAcquire(wanted, WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                return (long) wanted * KIB;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "the core is shutting down");
        }
        throw new HttpError(503, "too many request bodies are being read; try again shortly");
    }

    /** Gives back what {@link #reserve} took. */
    void release(long bytes) {
        if (bytes > 0) {
            kibibytes.release(kib(bytes));
        }
    }
}
