package ccc.core.log;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * What the core does when the virtual machine itself fails (an {@link OutOfMemoryError}, a
 * {@link StackOverflowError} nobody caught, an {@link InternalError}): it ends the workload's
 * process tree, writes one log line and halts with {@link #EXIT_CODE}, so that no workload runs
 * on unsupervised after its core is gone. Installed as the default uncaught exception handler,
 * which also serves virtual threads; code that catches {@link Throwable} passes such errors on
 * with {@link #rethrowIfFatal}.
 *
 * <p>The handler allocates little: a reserve of heap set aside at installation is released
 * first, and the work of ending the workload is a callback prepared in advance.
 */
public final class FatalErrors {

    /** The exit code after a fatal error (EX_SOFTWARE, sysexits.h). */
    public static final int EXIT_CODE = 70;

    /**
     * Heap set aside at installation and released when a fatal error arrives, so the handler can
     * allocate. It is resident for the core's whole life (an array is zeroed when allocated), so it
     * is sized for what the handler allocates: the scan of the machine's processes for the
     * workload's descendants takes three {@code long}s a process, 24 KiB for a thousand.
     */
    static final int RESERVE_BYTES = 512 * 1024;
    /** How many frames of a fatal error the log line names. */
    static final int WHERE_FRAMES = 12;

    private static final Log LOG = Log.named("core");
    private static final AtomicBoolean HANDLING = new AtomicBoolean();
    private static volatile Runnable endWorkload = () -> { };
    @SuppressWarnings("unused") // held only so that it can be released
    private static volatile byte[] reserve;

    private FatalErrors() {
    }

    /**
     * Makes fatal errors in any thread end the workload ({@code endWorkload}, which must not wait
     * on anything) and halt the core; other uncaught exceptions are logged and end only their thread.
     */
    public static synchronized void install(Runnable endWorkload) {
        reserve = new byte[RESERVE_BYTES];
        FatalErrors.endWorkload = endWorkload;
        Thread.setDefaultUncaughtExceptionHandler(FatalErrors::uncaught);
    }

    /** Whether {@code error} means the virtual machine can no longer be trusted to run the core. */
    public static boolean isFatal(Throwable error) {
        return error instanceof VirtualMachineError;
    }

    /**
     * Whether {@code error} is {@link Thread#start()}'s refusal because the system would create no
     * more threads: a limit on processes and threads that the core shares with its workload (a
     * container's {@code pids.max}), which the workload can take whole by forking. Nothing in the
     * virtual machine failed, so the caller fails only what needed the thread. Meaningful only for
     * an error that {@code start()} threw, the core's or an adapter's (no other error has that message).
     */
    public static boolean noThreadLeft(Throwable error) {
        return error instanceof OutOfMemoryError && String.valueOf(error.getMessage()).startsWith("unable to create native thread");
    }

    /**
     * Throws {@code error} on when it is fatal, so that it reaches the uncaught exception handler
     * instead of being reported as one more failed call. For code that must catch {@link Throwable}.
     */
    public static void rethrowIfFatal(Throwable error) {
        if (error instanceof VirtualMachineError fatal) {
            throw fatal;
        }
    }

    /**
     * As {@link #rethrowIfFatal}, for what an adapter's own code threw: an adapter that starts
     * threads (an HTTP client's, say) meets {@link #noThreadLeft} there when the workload has filled
     * the container's process limit, and that fails the call, as any exception of the adapter's would.
     */
    public static void rethrowIfFatalForAdapter(Throwable error) {
        if (!noThreadLeft(error)) {
            rethrowIfFatal(error);
        }
    }

    private static void uncaught(Thread thread, Throwable error) {
        if (isFatal(error)) {
            halt(thread, error);
        }
        try {
            LOG.error("a thread ended on an uncaught exception", "thread", thread.getName(), "error", Log.describe(error));
        } catch (RuntimeException | Error e) {
            // Nothing more can be done for a thread that is ending anyway.
        }
    }

    /** The innermost frames of {@code error}, innermost first: the one chance to learn where a fatal error came from. */
    private static String where(Throwable error) {
        StackTraceElement[] frames = error.getStackTrace();
        var text = new StringBuilder();
        for (int i = 0; i < Math.min(frames.length, WHERE_FRAMES); i++) {
            text.append(i == 0 ? "" : " < ").append(frames[i].getClassName()).append('.').append(frames[i].getMethodName())
                    .append(':').append(frames[i].getLineNumber());
        }
        return text.toString();
    }

    private static void halt(Thread thread, Throwable error) {
        if (!HANDLING.compareAndSet(false, true)) {
            // Another thread is already ending the core; this one waits for the halt.
            while (true) {
                LockSupport.park();
            }
        }
        reserve = null;
        try {
            endWorkload.run();
        } catch (Throwable e) {
            // Halt regardless: a workload left running is what this handler exists to prevent, but it cannot do more.
        }
        try {
            LOG.error("fatal error: the workload's processes were killed and the core exits", "error", error.toString(),
                    "exit_code", EXIT_CODE, "thread", thread.getName(), "at", where(error));
        } catch (Throwable e) {
            // The log line is a courtesy; the exit is not.
        }
        Runtime.getRuntime().halt(EXIT_CODE);
    }
}
