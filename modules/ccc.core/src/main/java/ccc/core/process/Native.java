package ccc.core.process;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import ccc.core.log.FatalErrors;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few system calls the JDK does not offer, called through the foreign function API:
 * sending any signal, becoming a child subreaper, and reaping adopted children.
 */
public final class Native {

    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final int WNOHANG = 1;

    private static final Linker LINKER = Linker.nativeLinker();

    // Each downcall is linked on first use, in a holder class of its own: linking spins bytecode
    // and costs tens of milliseconds, which start-up should not pay for calls it does not make.
    private static final class Kill {
        static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        static final MethodHandle HANDLE = downcall("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
                Linker.Option.captureCallState("errno"));
    }

    private static final class Prctl {
        static final MethodHandle HANDLE = downcall("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    private static final class Waitpid {
        static final MethodHandle HANDLE = downcall("waitpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private Native() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /**
     * Sends {@code signal} to {@code pid} (a negative pid names a process group).
     *
     * @return 0 on success, else the errno (3: no such process; 1: not permitted)
     */
    public static int kill(long pid, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Kill.CALL_STATE);
            int result = (int) Kill.HANDLE.invokeExact(state, (int) pid, signal);
            return result == 0 ? 0 : (int) Kill.ERRNO.get(state, 0L);
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            throw new IllegalStateException("kill(2) failed", e);
        }
    }

    /**
     * Makes this process a child subreaper: orphaned descendants are re-parented to it instead
     * of to PID 1, so the core can find and end what a workload left behind.
     */
    public static boolean becomeChildSubreaper() {
        try {
            return (int) Prctl.HANDLE.invokeExact(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == 0;
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            return false;
        }
    }

    /** Reaps {@code pid} if it has exited, without blocking; returns whether it was reaped. */
    public static boolean reap(long pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(JAVA_INT);
            return (int) Waitpid.HANDLE.invokeExact((int) pid, status, WNOHANG) == (int) pid;
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            return false;
        }
    }
}
