package ccc.core.process;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import ccc.core.log.FatalErrors;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few system calls the JDK does not offer, called through the foreign function API:
 * sending any signal, becoming a child subreaper, reaping adopted children, and the
 * descriptor-relative file calls ({@code openat} and its kin) that {@link NoFollowFiles} needs
 * to write and read without following links. The file calls return their result, or minus the errno.
 */
public final class Native {

    private static final int PR_SET_CHILD_SUBREAPER = 36;
    static final int WNOHANG = 1;

    // errno values and open(2) flags as Linux defines them. O_DIRECTORY and O_NOFOLLOW have other
    // values on ARM and PowerPC; the other architectures the JDK runs on (x86, s390x, RISC-V) use
    // the generic ones. NoFollowFilesTest fails on an architecture where these are wrong.
    static final int EINTR = 4;
    static final int ENOENT = 2;
    static final int EEXIST = 17;
    static final int AT_FDCWD = -100;
    static final int AT_EMPTY_PATH = 0x1000;
    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFLNK = 0120000;
    static final int S_IFREG = 0100000;
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;
    private static final boolean ARM_OR_POWERPC = System.getProperty("os.arch", "").matches("aarch64|arm.*|ppc.*");
    static final int O_DIRECTORY = ARM_OR_POWERPC ? 040000 : 0200000;
    static final int O_NOFOLLOW = ARM_OR_POWERPC ? 0100000 : 0400000;

    private static final Linker LINKER = Linker.nativeLinker();

    // Each downcall is linked on first use, in a holder class of its own: linking spins bytecode
    // and costs tens of milliseconds, which start-up should not pay for calls it does not make.
    private static final class Errno {
        static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

        /** A call's result, or minus the errno it left when it returned -1. */
        static int result(long returned, MemorySegment state) {
            return returned == -1 ? -(int) ERRNO.get(state, 0L) : (int) returned;
        }
    }

    private static final class SignalDisposition {
        static final MethodHandle HANDLE = downcall("signal", FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
        static final long SIG_ERR = -1;
    }

    private static final class Kill {
        static final MethodHandle HANDLE = downcall("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Openat {
        static final MethodHandle HANDLE = downcall("openat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(3), Errno.CAPTURE);
    }

    private static final class Mkdirat {
        static final MethodHandle HANDLE = downcall("mkdirat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Renameat {
        static final MethodHandle HANDLE = downcall("renameat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS),
                Errno.CAPTURE);
    }

    private static final class Unlinkat {
        static final MethodHandle HANDLE = downcall("unlinkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Fchown {
        static final MethodHandle HANDLE = downcall("fchown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Fchmod {
        static final MethodHandle HANDLE = downcall("fchmod", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Write {
        static final MethodHandle HANDLE = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Errno.CAPTURE);
    }

    private static final class Read {
        static final MethodHandle HANDLE = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Errno.CAPTURE);
    }

    private static final class Close {
        static final MethodHandle HANDLE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Statx {
        // struct statx has the same layout on every architecture: stx_uid is the u32 at byte 20, stx_mode the u16 at byte 28.
        static final long SIZE = 256;
        static final long UID_OFFSET = 20;
        static final long MODE_OFFSET = 28;
        static final int STATX_TYPE = 1;
        static final int STATX_MODE = 2;
        static final int STATX_UID = 8;
        static final MethodHandle HANDLE = downcall("statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS),
                Errno.CAPTURE);
    }

    private static final class Readlinkat {
        static final MethodHandle HANDLE = downcall("readlinkat", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
                Errno.CAPTURE);
    }

    private static final class Strerror {
        static final MethodHandle HANDLE = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private static final class Prctl {
        static final MethodHandle HANDLE = downcall("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    private static final class Waitpid {
        static final MethodHandle HANDLE = downcall("waitpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    // System call numbers of the pidfd calls: the same on every architecture (added after the tables were unified).
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;
    static final int EPERM = 1;
    static final int ESRCH = 3;
    static final int ECHILD = 10;
    static final int ENOSYS = 38;
    private static final short POLLIN = 1;
    static final int P_ALL = 0;
    static final int P_PID = 1;
    static final int WEXITED = 4;
    static final int WNOWAIT = 0x01000000;
    // siginfo_t as waitid(2) fills it for a child: si_code at 8, si_pid at 16 and si_status at 24, in the
    // generic layout of every 64-bit Linux.
    private static final long SIGINFO_SIZE = 128;
    private static final long SIGINFO_CODE_OFFSET = 8;
    private static final long SIGINFO_PID_OFFSET = 16;
    private static final long SIGINFO_STATUS_OFFSET = 24;
    private static final int CLD_EXITED = 1;

    private static final class Syscall2 {
        static final MethodHandle HANDLE = downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(1), Errno.CAPTURE);
    }

    private static final class Syscall4 {
        static final MethodHandle HANDLE = downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT),
                Linker.Option.firstVariadicArg(1), Errno.CAPTURE);
    }

    private static final class Poll {
        static final MethodHandle HANDLE = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Madvise {
        // The shape of poll(2)'s, so that it shares the stub the JDK spins for that one.
        static final MethodHandle HANDLE = downcall("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);
    }

    private static final class Waitid {
        static final MethodHandle HANDLE = downcall("waitid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT),
                Errno.CAPTURE);
    }

    private Native() {
    }

    /** One call into the C library, given an arena for its arguments and the state that captures its errno. */
    @FunctionalInterface
    private interface LibraryCall {
        int run(Arena arena, MemorySegment state) throws Throwable;
    }

    /** Runs {@code call} in an arena of its own; a call that cannot be made at all is {@code name}'s failure, a fatal error the core's. */
    private static int call(String name, LibraryCall call) {
        try (Arena arena = Arena.ofConfined()) {
            return call.run(arena, arena.allocate(Errno.CALL_STATE));
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            throw new IllegalStateException(name + " failed", e);
        }
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
        return call("kill(2)", (arena, state) -> {
            int result = (int) Kill.HANDLE.invokeExact(state, (int) pid, signal);
            return result == 0 ? 0 : (int) Errno.ERRNO.get(state, 0L);
        });
    }

    /**
     * Gives {@code signal} its default action again in this process ({@code signal(2)} with
     * {@code SIG_DFL}): for a signal the process was started with ignored, which the JVM would
     * otherwise leave ignored; whether it was done.
     */
    public static boolean restoreDefaultAction(int signal) {
        try {
            var previous = (MemorySegment) SignalDisposition.HANDLE.invokeExact(signal, MemorySegment.NULL);
            return previous.address() != SignalDisposition.SIG_ERR;
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            return false;
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

    /** {@code openat(2)}: a descriptor for {@code name} relative to {@code directory}, or minus the errno. */
    static int openat(int directory, String name, int flags, int mode) {
        return call("openat(2)", (arena, state) ->
                Errno.result((int) Openat.HANDLE.invokeExact(state, directory, arena.allocateFrom(name), flags, mode), state));
    }

    /** The file type bits ({@code S_IFMT}) of what {@code descriptor} refers to, from {@code statx(2)}; or minus the errno. */
    static int fileType(int descriptor) {
        FileStatus status = status(descriptor);
        return status.result() < 0 ? status.result() : status.mode() & S_IFMT;
    }

    /**
     * The owner and mode of a file, as {@code statx(2)} gave them; {@code result} is 0, or minus
     * the errno (and then the rest is 0).
     */
    record FileStatus(int result, int mode, long uid) {
    }

    /**
     * {@code statx(2)} of what {@code descriptor} itself refers to ({@code AT_EMPTY_PATH}): of a
     * link opened with {@code O_PATH|O_NOFOLLOW}, the link, as {@code fstatat} with
     * {@code AT_SYMLINK_NOFOLLOW} would give it, but of the very link that was opened.
     */
    static FileStatus status(int descriptor) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Statx.SIZE, 8);
            int result = call("statx(2)", (callArena, state) -> Errno.result((int) Statx.HANDLE.invokeExact(state, descriptor,
                    callArena.allocateFrom(""), AT_EMPTY_PATH, Statx.STATX_TYPE | Statx.STATX_MODE | Statx.STATX_UID, buffer), state));
            return result < 0 ? new FileStatus(result, 0, 0)
                    : new FileStatus(0, Short.toUnsignedInt(buffer.get(JAVA_SHORT, Statx.MODE_OFFSET)),
                    Integer.toUnsignedLong(buffer.get(JAVA_INT, Statx.UID_OFFSET)));
        }
    }

    /**
     * {@code readlinkat(2)} of the link {@code descriptor} itself refers to (opened with
     * {@code O_PATH|O_NOFOLLOW}, read with an empty name): its target's bytes, at most
     * {@code limit}, into {@code target}; the number of bytes, or minus the errno. A result of
     * {@code limit} means the target may have been cut short.
     */
    static int readlink(int descriptor, MemorySegment target, long limit) {
        return call("readlinkat(2)", (arena, state) ->
                Errno.result((long) Readlinkat.HANDLE.invokeExact(state, descriptor, arena.allocateFrom(""), target, limit), state));
    }

    /** {@code mkdirat(2)}: 0, or minus the errno. */
    static int mkdirat(int directory, String name, int mode) {
        return call("mkdirat(2)", (arena, state) ->
                Errno.result((int) Mkdirat.HANDLE.invokeExact(state, directory, arena.allocateFrom(name), mode), state));
    }

    /** {@code renameat(2)}: 0, or minus the errno. A link at {@code to} is replaced, never followed. */
    static int renameat(int fromDirectory, String from, int toDirectory, String to) {
        return call("renameat(2)", (arena, state) ->
                Errno.result((int) Renameat.HANDLE.invokeExact(state, fromDirectory, arena.allocateFrom(from),
                toDirectory, arena.allocateFrom(to)), state));
    }

    /** {@code unlinkat(2)} of a file (not a directory): 0, or minus the errno. */
    static int unlinkat(int directory, String name) {
        return call("unlinkat(2)", (arena, state) ->
                Errno.result((int) Unlinkat.HANDLE.invokeExact(state, directory, arena.allocateFrom(name), 0), state));
    }

    /** {@code fchown(2)}: 0, or minus the errno; ids up to {@link UserAccount#MAX_ID}, passed as the C {@code uid_t} and {@code gid_t} bits. */
    static int fchown(int descriptor, long uid, long gid) {
        return call("fchown(2)", (arena, state) ->
                Errno.result((int) Fchown.HANDLE.invokeExact(state, descriptor, (int) uid, (int) gid), state));
    }

    /** {@code fchmod(2)}: 0, or minus the errno. */
    static int fchmod(int descriptor, int mode) {
        return call("fchmod(2)", (arena, state) -> Errno.result((int) Fchmod.HANDLE.invokeExact(state, descriptor, mode), state));
    }

    /** {@code write(2)} of {@code length} bytes from {@code buffer} at {@code offset}: the bytes written, or minus the errno. */
    static int write(int descriptor, MemorySegment buffer, long offset, long length) {
        return call("write(2)", (arena, state) ->
                Errno.result((long) Write.HANDLE.invokeExact(state, descriptor, buffer.asSlice(offset, length), length), state));
    }

    /** {@code read(2)} of up to {@code length} bytes into {@code buffer} at {@code offset}: the bytes read (0 at the end), or minus the errno. */
    static int read(int descriptor, MemorySegment buffer, long offset, long length) {
        return call("read(2)", (arena, state) ->
                Errno.result((long) Read.HANDLE.invokeExact(state, descriptor, buffer.asSlice(offset, length), length), state));
    }

    /** {@code close(2)}: 0, or minus the errno. */
    static int close(int descriptor) {
        return call("close(2)", (arena, state) -> Errno.result((int) Close.HANDLE.invokeExact(state, descriptor), state));
    }

    /**
     * {@code pidfd_open(2)}: a descriptor that refers to process {@code pid} itself, not to its
     * number, so it cannot come to mean another process; or minus the errno (ESRCH: gone;
     * ENOSYS: a kernel before 5.3, or a seccomp filter that refuses it).
     */
    static int pidfdOpen(long pid) {
        return call("pidfd_open(2)", (arena, state) ->
                Errno.result((long) Syscall2.HANDLE.invokeExact(state, SYS_PIDFD_OPEN, (int) pid, 0), state));
    }

    /** {@code pidfd_send_signal(2)}: {@code signal} to the process {@code pidfd} refers to; 0, or minus the errno. */
    static int pidfdSendSignal(int pidfd, int signal) {
        return call("pidfd_send_signal(2)", (arena, state) ->
                Errno.result((long) Syscall4.HANDLE.invokeExact(state, SYS_PIDFD_SEND_SIGNAL, pidfd, signal, MemorySegment.NULL, 0),
                state));
    }

    /** madvise(2) on the {@code length} bytes at {@code address}: 0, or minus the errno. */
    static int madvise(long address, long length, int advice) {
        return call("madvise(2)", (arena, state) ->
                Errno.result((int) Madvise.HANDLE.invokeExact(state, MemorySegment.ofAddress(address), length, advice), state));
    }

    /**
     * {@code poll(2)} for input on {@code descriptors}, for at most {@code timeoutMillis} (-1: no
     * bound). A pidfd has input once its process has ended (a zombie has). Sets
     * {@code ready[i]} for each descriptor that has; returns how many, or minus the errno.
     */
    static int pollReadable(int[] descriptors, boolean[] ready, int timeoutMillis) {
        return call("poll(2)", (arena, state) -> {
            MemorySegment fds = arena.allocate(8L * descriptors.length, 4);
            for (int i = 0; i < descriptors.length; i++) {
                fds.set(JAVA_INT, 8L * i, descriptors[i]);
                fds.set(JAVA_SHORT, 8L * i + 4, POLLIN);
            }
            int result = Errno.result((int) Poll.HANDLE.invokeExact(state, fds, (long) descriptors.length, timeoutMillis), state);
            for (int i = 0; i < descriptors.length; i++) {
                ready[i] = result > 0 && fds.get(JAVA_SHORT, 8L * i + 6) != 0;
            }
            return result;
        });
    }

    /**
     * {@code waitid(2)} for children that have exited ({@code WEXITED} is added to
     * {@code options}): of {@code idType} ({@link #P_ALL}, {@link #P_PID}) and {@code id}.
     * Returns the pid of the child it found, 0 when {@code WNOHANG} found none, or minus the
     * errno (ECHILD: no child to wait for). With {@link #WNOWAIT} the child stays a zombie.
     */
    static int waitid(int idType, long id, int options) {
        return call("waitid(2)", (arena, state) -> {
            MemorySegment info = arena.allocate(SIGINFO_SIZE, 8);
            int result = Errno.result((int) Waitid.HANDLE.invokeExact(state, idType, (int) id, info, options | WEXITED), state);
            return result < 0 ? result : info.get(JAVA_INT, SIGINFO_PID_OFFSET);
        });
    }

    /**
     * Reaps child {@code pid}, waiting for it to end. Returns its exit code as the JDK reports
     * one (the status it exited with, or 128 plus the number of the signal that ended it), or
     * minus the errno (ECHILD: not a child of this process, or reaped already).
     */
    static int reapExitCode(long pid) {
        return call("waitid(2)", (arena, state) -> {
            MemorySegment info = arena.allocate(SIGINFO_SIZE, 8);
            int result;
            do {
                result = Errno.result((int) Waitid.HANDLE.invokeExact(state, P_PID, (int) pid, info, WEXITED), state);
            } while (result == -EINTR);
            if (result < 0) {
                return result;
            }
            int status = info.get(JAVA_INT, SIGINFO_STATUS_OFFSET);
            return info.get(JAVA_INT, SIGINFO_CODE_OFFSET) == CLD_EXITED ? status : 128 + status;
        });
    }

    /** The C library's description of {@code errno}, such as "No such file or directory". */
    static String describeErrno(int errno) {
        try {
            var text = (MemorySegment) Strerror.HANDLE.invokeExact(errno);
            return text.reinterpret(1024).getString(0);
        } catch (Throwable e) {
            return "errno " + errno;
        }
    }
}
