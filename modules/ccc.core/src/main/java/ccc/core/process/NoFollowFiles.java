package ccc.core.process;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes and reads files as root on paths the workload may reach, without ever following a
 * symbolic link: root never follows a path the workload can change. The path is walked from {@code /} one
 * directory descriptor at a time, each component opened with {@code O_NOFOLLOW|O_DIRECTORY},
 * so a link anywhere on it ends the write with an error naming the link; what is created is
 * created relative to those descriptors, handed to its owner through its own descriptor, and
 * put in place with {@code renameat}, which replaces a link at the final name rather than
 * writing through it. A workload that swaps a directory for a link while this runs changes
 * nothing: the descriptors already held still name the directories that were checked. A file
 * is read only when it is a regular file, and opened without waiting for a writer, so a FIFO the
 * workload swapped in is refused at once rather than blocking the reader in the kernel.
 */
public final class NoFollowFiles {

    private static final int FILE_MODE = 0600;
    private static final int PRIVATE_DIRECTORY_MODE = 0700;
    private static final int CREATED_DIRECTORY_MODE = 0755;
    // O_PATH without O_DIRECTORY: a link is opened as itself, so one statx on the descriptor tells
    // exactly what was there when it was opened (with O_DIRECTORY a link and a file both give ENOTDIR).
    private static final int WALK_FLAGS = Native.O_PATH | Native.O_NOFOLLOW | Native.O_CLOEXEC;
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, in the kernel, where no interrupt reaches.
    private static final int READ_FLAGS = Native.O_RDONLY | Native.O_NONBLOCK | Native.O_NOFOLLOW | Native.O_CLOEXEC;
    private static final int ELOOP = 40;
    private static final String WRITES = "writes through";
    private static final String READS = "reads through";

    private NoFollowFiles() {
    }

    /**
     * Replaces {@code file} with {@code content}, mode 0600, owned by {@code owner} when given
     * (else by the core's user). Missing directories on the way are created, owned by the core's
     * user, mode 0755. A link at the final name is replaced, not followed.
     *
     * @throws IOException naming the component, when a directory on the path is a symbolic link
     *         or not a directory, or when a call fails
     */
    public static void write(Path file, byte[] content, Optional<UserAccount> owner) throws IOException {
        List<String> names = components(file);
        String name = names.getLast();
        int directory = openDirectories(names.subList(0, names.size() - 1), true, WRITES);
        String temporary = "." + name + "." + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp";
        try {
            int descriptor = check(Native.openat(directory, temporary,
                    Native.O_WRONLY | Native.O_CREAT | Native.O_EXCL | Native.O_NOFOLLOW | Native.O_CLOEXEC, FILE_MODE),
                    "cannot create a temporary file beside", file);
            try {
                try {
                    writeFully(descriptor, content, file);
                    handOver(descriptor, owner, FILE_MODE, file);
                } finally {
                    check(Native.close(descriptor), "cannot write", file);
                }
                check(Native.renameat(directory, temporary, directory, name), "cannot replace", file);
            } catch (IOException | RuntimeException e) {
                Native.unlinkat(directory, temporary);
                throw e;
            }
        } finally {
            Native.close(directory);
        }
    }

    /**
     * Creates the new directory {@code directory}, mode 0700, owned by {@code owner} when given
     * (else by the core's user), so that only that user and root can reach what is put in it.
     *
     * @throws FileAlreadyExistsException if it exists (whatever it is)
     * @throws IOException as {@link #write}
     */
    public static void createPrivateDirectory(Path directory, Optional<UserAccount> owner) throws IOException {
        List<String> names = components(directory);
        String name = names.getLast();
        int parent = openDirectories(names.subList(0, names.size() - 1), true, WRITES);
        try {
            int created = Native.mkdirat(parent, name, PRIVATE_DIRECTORY_MODE);
            if (created == -Native.EEXIST) {
                throw new FileAlreadyExistsException(directory.toString());
            }
            check(created, "cannot create", directory);
            int descriptor = check(Native.openat(parent, name, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_NOFOLLOW | Native.O_CLOEXEC, 0),
                    "cannot open", directory);
            try {
                handOver(descriptor, owner, PRIVATE_DIRECTORY_MODE, directory);
            } finally {
                Native.close(descriptor);
            }
        } finally {
            Native.close(parent);
        }
    }

    /**
     * Reads at most {@code limit} bytes of {@code file}, following no link on its path: the
     * directories are walked as {@link #write} walks them (creating none), and the file is
     * opened with {@code O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC} and read only if the descriptor refers
     * to a regular file, so a FIFO, a device or a directory at the name is refused at once.
     *
     * @return the file's first {@code limit} bytes (all of it when it is no longer)
     * @throws NoSuchFileException when the file, or a directory on its path, does not exist
     * @throws IOException naming the component, when it is a symbolic link, a directory on the
     *         path is not a directory, the file is not a regular file, or a call fails
     */
    public static byte[] read(Path file, int limit) throws IOException {
        List<String> names = components(file);
        int directory = openDirectories(names.subList(0, names.size() - 1), false, READS);
        try {
            int descriptor = Native.openat(directory, names.getLast(), READ_FLAGS, 0);
            if (descriptor == -Native.ENOENT) {
                throw new NoSuchFileException(file.toString());
            }
            if (descriptor == -ELOOP) {
                throw new IOException(linkRefused(file, READS));
            }
            check(descriptor, "cannot open", file);
            try {
                if (check(Native.fileType(descriptor), "cannot examine", file) != Native.S_IFREG) {
                    throw new IOException("'" + file + "' is not a regular file");
                }
                return readFully(descriptor, limit, file);
            } finally {
                Native.close(descriptor);
            }
        } finally {
            Native.close(directory);
        }
    }

    /**
     * The names from {@code /} to {@code path}'s last. {@code ..} is resolved by name, which is
     * what the kernel would do too, since nothing on the path may be a link.
     */
    private static List<String> components(Path path) throws IOException {
        var names = new ArrayList<String>();
        for (Path name : path.toAbsolutePath().normalize()) {
            names.add(name.toString());
        }
        if (names.isEmpty()) {
            throw new IOException("'" + path + "' names the root directory, not a file");
        }
        return names;
    }

    /**
     * A descriptor of the directory {@code names} lead to from {@code /}, following no link;
     * missing ones are created when {@code create}, else end the walk with {@link NoSuchFileException}.
     */
    private static int openDirectories(List<String> names, boolean create, String use) throws IOException {
        int directory = check(Native.openat(Native.AT_FDCWD, "/", WALK_FLAGS | Native.O_DIRECTORY, 0), "cannot open", Path.of("/"));
        Path reached = Path.of("/");
        try {
            for (String name : names) {
                reached = reached.resolve(name);
                int next = Native.openat(directory, name, WALK_FLAGS, 0);
                if (next == -Native.ENOENT && !create) {
                    throw new NoSuchFileException(reached.toString());
                }
                if (next == -Native.ENOENT) {
                    int made = Native.mkdirat(directory, name, CREATED_DIRECTORY_MODE);
                    if (made != 0 && made != -Native.EEXIST) {
                        check(made, "cannot create", reached);
                    }
                    next = Native.openat(directory, name, WALK_FLAGS, 0);
                }
                check(next, "cannot open", reached);
                int type = Native.fileType(next);
                if (type != Native.S_IFDIR) {
                    Native.close(next);
                    check(type, "cannot examine", reached);
                    throw new IOException(type == Native.S_IFLNK ? linkRefused(reached, use) : "'" + reached + "' is not a directory");
                }
                Native.close(directory);
                directory = next;
            }
            return directory;
        } catch (IOException | RuntimeException e) {
            Native.close(directory);
            throw e;
        }
    }

    private static String linkRefused(Path link, String use) {
        return "'" + link + "' is a symbolic link; the core does not follow links it " + use + " as root";
    }

    private static byte[] readFully(int descriptor, int limit, Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Math.max(1, limit));
            int filled = 0;
            while (filled < limit) {
                int result = Native.read(descriptor, buffer, filled, limit - filled);
                if (result == -Native.EINTR) {
                    continue;
                }
                if (check(result, "cannot read", file) == 0) {
                    break;
                }
                filled += result;
            }
            return buffer.asSlice(0, filled).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static void writeFully(int descriptor, byte[] content, Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Math.max(1, content.length));
            MemorySegment.copy(content, 0, buffer, ValueLayout.JAVA_BYTE, 0, content.length);
            long written = 0;
            while (written < content.length) {
                int result = Native.write(descriptor, buffer, written, content.length - written);
                if (result == -Native.EINTR) {
                    continue;
                }
                written += check(result, "cannot write", file);
            }
        }
    }

    /** Sets the owner (when given) and the exact mode through the descriptor, so no name is followed. */
    private static void handOver(int descriptor, Optional<UserAccount> owner, int mode, Path path) throws IOException {
        if (owner.isPresent()) {
            check(Native.fchown(descriptor, owner.get().uid(), owner.get().gid()), "cannot hand over", path);
        }
        check(Native.fchmod(descriptor, mode), "cannot set the mode of", path);
    }

    private static int check(int result, String what, Path path) throws IOException {
        if (result < 0) {
            throw new IOException(what + " '" + path + "': " + Native.describeErrno(-result));
        }
        return result;
    }
}
