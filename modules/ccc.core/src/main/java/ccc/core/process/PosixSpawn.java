package ccc.core.process;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import ccc.core.log.FatalErrors;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts a program with {@code posix_spawn(3)}, called through the foreign function API, so that
 * the program's own exec is the only one before the call returns. {@link ProcessBuilder}'s
 * default mechanism spawns the JDK's {@code jspawnhelper} first, which then execs the program:
 * one exec more before every workload's start is reported, 4 to 6 ms on the development machine
 * (the helper is linked dynamically; {@code ccc-exec} is static).
 *
 * <p>The child gets what {@link ProcessBuilder} would give it: standard input from
 * {@code /dev/null}, standard output and error on pipes, the descriptors the caller names, and no other of the core
 * (all are closed in the child before the exec, close-on-exec or not). Besides, its signal mask
 * is empty and every signal has its default action, whatever the spawning thread blocked or the
 * core ignored. Arguments and variables are passed as UTF-8. Where the C library lacks a call
 * this needs ({@code posix_spawn_file_actions_addclosefrom_np} came with glibc 2.34) or
 * {@code /proc} is missing, {@link #available()} is false and the launcher uses
 * {@link ProcessBuilder}.
 */
final class PosixSpawn {

    private static final Linker LINKER = Linker.nativeLinker();
    static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");
    private static final int O_CLOEXEC = 02000000;
    // posix_spawnattr_setflags(3) flags; the same in glibc and musl.
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    // The C library's opaque types are smaller than this (posix_spawnattr_t, the largest, is 336
    // bytes in glibc and musl on 64-bit systems); only their address is handed over.
    private static final long OPAQUE_BYTES = 1024;
    // sigset_t: 1024 bits, one per signal number (bit n - 1 for signal n), in glibc and musl.
    private static final long SIGSET_BYTES = 128;

    private static final List<String> FUNCTIONS = List.of("posix_spawn", "posix_spawn_file_actions_init",
            "posix_spawn_file_actions_destroy", "posix_spawn_file_actions_addopen", "posix_spawn_file_actions_adddup2",
            "posix_spawn_file_actions_addclosefrom_np", "posix_spawnattr_init", "posix_spawnattr_destroy",
            "posix_spawnattr_setflags", "posix_spawnattr_setsigmask", "posix_spawnattr_setsigdefault", "pipe2");

    /** Whether the C library has every call this needs and {@code /proc} shows this process's descriptors. */
    private static final boolean AVAILABLE = FUNCTIONS.stream().allMatch(name -> LINKER.defaultLookup().find(name).isPresent())
            && Files.isDirectory(OWN_DESCRIPTORS);

    // Linked together on first use (or by link(), off the start-up path): each link spins bytecode.
    private static final class Calls {
        static final MethodHandle SPAWN = downcall("posix_spawn", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS));
        static final MethodHandle ACTIONS_INIT = downcall("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ACTIONS_DESTROY = downcall("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ADD_OPEN = downcall("posix_spawn_file_actions_addopen",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle ADD_DUP2 = downcall("posix_spawn_file_actions_adddup2",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle ADD_CLOSEFROM = downcall("posix_spawn_file_actions_addclosefrom_np",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle ATTR_INIT = downcall("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ATTR_DESTROY = downcall("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle SET_FLAGS = downcall("posix_spawnattr_setflags", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
        static final MethodHandle SET_MASK = downcall("posix_spawnattr_setsigmask", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle SET_DEFAULT = downcall("posix_spawnattr_setsigdefault", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // pipe2(2) reports failure through errno; the others return the error number.
        static final MethodHandle PIPE2 = downcall("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

        private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor);
        }
    }

    private PosixSpawn() {
    }

    /** Whether this way of starting programs works here; see the class description. */
    static boolean available() {
        return AVAILABLE;
    }

    /** Links the calls now, so that the first start does not pay for it. */
    static void link() {
        if (AVAILABLE) {
            Calls.SPAWN.type();
        }
    }

    /**
     * Starts {@code helper --await-command} with no environment, from this thread (see
     * {@link #start(List, List, int...)}), its descriptor 3 {@code commandReadEnd} and its
     * descriptor 4 {@code statusWriteEnd}, ends of pipes whose other ends stay the caller's. See
     * {@link ReadyHelper}.
     */
    static SpawnedProcess startAwaiting(String helper, int commandReadEnd, int statusWriteEnd) throws IOException {
        return start(List.of(helper, "--await-command"), List.of(), commandReadEnd, statusWriteEnd);
    }

    /** Throws if any of {@code texts} holds a NUL, which C strings cannot carry. */
    static void requireNoNul(List<String> texts) throws IOException {
        if (texts.stream().anyMatch(text -> text.indexOf('\0') >= 0)) {
            throw new IOException("invalid null character in command or environment");
        }
    }

    /** A pipe, both ends close-on-exec: {read end, write end}. */
    static int[] pipe() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ends = arena.allocate(JAVA_INT, 2);
            if ((int) Calls.PIPE2.invokeExact(ends, O_CLOEXEC) != 0) {
                throw new IOException("cannot create a pipe for the workload");
            }
            return new int[] {ends.getAtIndex(JAVA_INT, 0), ends.getAtIndex(JAVA_INT, 1)};
        } catch (IOException e) {
            throw e;
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            throw new IOException("pipe2(2) failed", e);
        }
    }

    /**
     * Starts {@code command} (its first element an absolute path: no search) with exactly
     * {@code variables} (NAME=VALUE) as its environment, from this thread: it is the child's
     * parent thread, which matters for a parent-death signal the child asks for. Each of
     * {@code extraDescriptors} becomes the child's descriptor 3, 4, and so on.
     *
     * @throws IOException if the program cannot be started, or an argument or variable holds a NUL
     */
    static SpawnedProcess start(List<String> command, List<String> variables, int... extraDescriptors) throws IOException {
        requireNoNul(command);
        requireNoNul(variables);
        int[] stdout = pipe();
        int[] stderr = null;
        InputStream out = null;
        InputStream err = null;
        try {
            stderr = pipe();
            // The read ends are opened again as streams of the JDK's, which read on virtual threads without pinning a carrier.
            out = reopen(stdout[0]);
            err = reopen(stderr[0]);
            int[] descriptors = new int[2 + extraDescriptors.length];
            descriptors[0] = stdout[1];
            descriptors[1] = stderr[1];
            System.arraycopy(extraDescriptors, 0, descriptors, 2, extraDescriptors.length);
            long pid = spawn(command, variables, descriptors);
            var process = new SpawnedProcess(pid, out, err);
            out = null;
            err = null;
            return process;
        } finally {
            closeQuietly(out);
            closeQuietly(err);
            closeAll(stdout);
            closeAll(stderr);
        }
    }

    /** Spawns with {@code descriptors[i]} as the child's descriptor {@code 1 + i}, standard input from /dev/null, nothing else open. */
    private static long spawn(List<String> command, List<String> variables, int[] descriptors) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(OPAQUE_BYTES, 16);
            MemorySegment attributes = arena.allocate(OPAQUE_BYTES, 16);
            require((int) Calls.ACTIONS_INIT.invokeExact(actions), "posix_spawn_file_actions_init");
            try {
                require((int) Calls.ATTR_INIT.invokeExact(attributes), "posix_spawnattr_init");
                try {
                    require((int) Calls.ADD_OPEN.invokeExact(actions, 0, arena.allocateFrom("/dev/null"), Native.O_RDONLY, 0),
                            "posix_spawn_file_actions_addopen");
                    // A source may be another's target (a pipe of the core's may well be descriptor 3 or 4): each is first
                    // duplicated above every source and target, then moved into place; closefrom ends the copies.
                    int above = descriptors.length;
                    for (int descriptor : descriptors) {
                        above = Math.max(above, descriptor);
                    }
                    for (int i = 0; i < descriptors.length; i++) {
                        require((int) Calls.ADD_DUP2.invokeExact(actions, descriptors[i], above + 1 + i), "posix_spawn_file_actions_adddup2");
                    }
                    for (int i = 0; i < descriptors.length; i++) {
                        require((int) Calls.ADD_DUP2.invokeExact(actions, above + 1 + i, 1 + i), "posix_spawn_file_actions_adddup2");
                    }
                    require((int) Calls.ADD_CLOSEFROM.invokeExact(actions, 1 + descriptors.length), "posix_spawn_file_actions_addclosefrom_np");
                    // An empty mask (allocated zeroed), and every signal back to its default action.
                    MemorySegment noSignals = arena.allocate(SIGSET_BYTES, 8);
                    MemorySegment allSignals = arena.allocate(SIGSET_BYTES, 8).fill((byte) 0xff);
                    require((int) Calls.SET_MASK.invokeExact(attributes, noSignals), "posix_spawnattr_setsigmask");
                    require((int) Calls.SET_DEFAULT.invokeExact(attributes, allSignals), "posix_spawnattr_setsigdefault");
                    require((int) Calls.SET_FLAGS.invokeExact(attributes, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)),
                            "posix_spawnattr_setflags");
                    MemorySegment pid = arena.allocate(JAVA_INT);
                    int error = (int) Calls.SPAWN.invokeExact(pid, arena.allocateFrom(command.getFirst()), actions, attributes,
                            strings(arena, command), strings(arena, variables));
                    if (error != 0) {
                        throw new IOException("Cannot run program \"" + command.getFirst() + "\": error=" + error + ", "
                                + Native.describeErrno(error));
                    }
                    return pid.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) Calls.ATTR_DESTROY.invokeExact(attributes);
                }
            } finally {
                int ignored = (int) Calls.ACTIONS_DESTROY.invokeExact(actions);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable e) {
            FatalErrors.rethrowIfFatal(e);
            throw new IOException("posix_spawn(3) failed", e);
        }
    }

    /** A NULL-terminated array of C strings. */
    private static MemorySegment strings(Arena arena, List<String> texts) {
        MemorySegment array = arena.allocate(ADDRESS, texts.size() + 1L);
        for (int i = 0; i < texts.size(); i++) {
            array.setAtIndex(ADDRESS, i, arena.allocateFrom(texts.get(i)));
        }
        array.setAtIndex(ADDRESS, texts.size(), MemorySegment.NULL);
        return array;
    }

    /**
     * A stream on the pipe {@code readEnd} belongs to, opened anew through {@code /proc}: the
     * write end is still open here, so opening the pipe's read side does not wait for a writer.
     */
    static InputStream reopen(int readEnd) throws IOException {
        return new FileInputStream(OWN_DESCRIPTORS.resolve(Integer.toString(readEnd)).toFile());
    }

    private static void require(int error, String call) throws IOException {
        if (error != 0) {
            throw new IOException(call + " failed: " + Native.describeErrno(error));
        }
    }

    private static void closeAll(int[] descriptors) {
        if (descriptors != null) {
            for (int descriptor : descriptors) {
                Native.close(descriptor);
            }
        }
    }

    /** Closes {@code in}, if any: a pipe's read end, of a process that never started or is gone. */
    static void closeQuietly(InputStream in) {
        if (in != null) {
            try {
                in.close();
            } catch (IOException e) {
                // Nothing more can come of it.
            }
        }
    }
}
