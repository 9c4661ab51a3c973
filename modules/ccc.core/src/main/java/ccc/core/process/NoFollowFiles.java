package ccc.core.process;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Writes and reads files as root on paths the workload may reach, without following a symbolic
 * link the workload could have made: root never follows a path the workload can change. The
 * path is walked from {@code /} one directory descriptor at a time, each component opened with
 * {@code O_PATH|O_NOFOLLOW}, so a link anywhere on it ends the write with an error naming the
 * link. A read follows a link only where nobody but root can have placed or changed it: in a
 * directory owned by root that no group or other user may write to, and owned by root itself,
 * as a Kubernetes ConfigMap or Secret volume presents each file ({@code app.json -> ..data/app.json},
 * {@code ..data -> ..2026_11_29_09_00_00.123456789}); at most {@link #MAX_LINKS_FOLLOWED} in one
 * read. Every other link ends the read with an error naming it. What is created is
 * created relative to those descriptors, handed to its owner through its own descriptor, and
 * put in place with {@code renameat}, which replaces a link at the final name rather than
 * writing through it. A workload that swaps a directory for a link while this runs changes
 * nothing: the descriptors already held still name the directories that were checked. A file
 * is read only when it is a regular file, and opened without waiting for a writer, so a FIFO the
 * workload swapped in is refused at once rather than blocking the reader in the kernel.
 */
public final class NoFollowFiles {

    /**
     * How many links one read follows at most (the kernel's own bound is 40): a loop of links,
     * even one only root could have made, ends the read rather than the walk never ending.
     */
    public static final int MAX_LINKS_FOLLOWED = 16;

    /**
     * How deep {@link #removeTree} goes into directories the workload made; a deeper tree is left
     * where it is (and said so) rather than followed without end.
     */
    public static final int MAX_REMOVE_DEPTH = 64;

    private static final int FILE_MODE = 0600;
    private static final int PRIVATE_DIRECTORY_MODE = 0700;
    private static final int CREATED_DIRECTORY_MODE = 0755;
    // O_PATH without O_DIRECTORY: a link is opened as itself, so one statx on the descriptor tells
    // exactly what was there when it was opened (with O_DIRECTORY a link and a file both give ENOTDIR).
    private static final int WALK_FLAGS = Native.O_PATH | Native.O_NOFOLLOW | Native.O_CLOEXEC;
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, in the kernel, where no interrupt reaches.
    private static final int READ_FLAGS = Native.O_RDONLY | Native.O_NONBLOCK | Native.O_NOFOLLOW | Native.O_CLOEXEC;
    private static final int ELOOP = 40;
    // The kernel's PATH_MAX: no link's target is longer, so a target that fills it is refused as cut short.
    private static final int MAX_LINK_TARGET_BYTES = 4096;
    // Group and other write bits: a directory with either may have had its entries made by a user other than root.
    private static final int WRITABLE_BY_GROUP_OR_OTHERS = 0022;
    private static final Path ROOT = Path.of("/");
    private static final String WRITES = "writes through";
    private static final String READS = "reads through";
    private static final String ROOTS_LINKS_ONLY = "the core follows a link it reads through as root only where nobody but root can have made it";

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
        Reached reached = walk(file, true, false);
        int directory = reached.directory();
        String name = reached.name();
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
        Reached reached = walk(directory, true, false);
        int parent = reached.directory();
        String name = reached.name();
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
     * Reads at most {@code limit} bytes of {@code file}, following only the links that nobody
     * but root can have made: the path is walked as {@link #write} walks it (creating nothing),
     * a link on it, the file's own name included, is followed only when it is owned by root in
     * a directory owned by root that no group or other user may write to, and at most
     * {@link #MAX_LINKS_FOLLOWED} of them; the file is opened with
     * {@code O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC} and read only if the descriptor refers to a
     * regular file, so a FIFO, a device or a directory at the name is refused at once.
     *
     * @return the file's first {@code limit} bytes (all of it when it is no longer)
     * @throws NoSuchFileException when the file, or a directory on its path, does not exist
     * @throws IOException naming the component, when it is a symbolic link that is not root's
     *         alone or one too many, a directory on the path is not a directory, the file is not
     *         a regular file, or a call fails
     */
    public static byte[] read(Path file, int limit) throws IOException {
        Reached reached = walk(file, false, true);
        int directory = reached.directory();
        try {
            int descriptor = Native.openat(directory, reached.name(), READ_FLAGS, 0);
            if (descriptor == -Native.ENOENT) {
                throw new NoSuchFileException(file.toString());
            }
            if (descriptor == -ELOOP) {
                // The walk found no link at this name: one was put there since, by whoever may write the directory.
                throw new IOException(linkRefused(reached.path(), READS));
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
     * The names from {@code /} to {@code path}'s last. {@code ..} in the path as configured is
     * resolved by name; in a link's target, by the kernel, from the directory the walk is in.
     */
    /**
     * Removes {@code directory} and everything in it as root without following a link anywhere in
     * it: the directory is opened through its parent with {@code O_NOFOLLOW}, every entry is
     * looked at and removed relative to the descriptor of the directory that holds it
     * ({@link SecureDirectoryStream}), so a link the workload left, or swapped in, is removed as
     * a link, never followed. The parent is trusted (the core's temporary directory).
     *
     * @throws IOException when something could not be removed; what could be, is
     */
    public static void removeTree(Path directory) throws IOException {
        Path parent = directory.toAbsolutePath().getParent();
        Path name = directory.getFileName();
        try (var parentStream = Files.newDirectoryStream(parent)) {
            if (!(parentStream instanceof SecureDirectoryStream<Path> holder)) {
                throw new IOException("cannot remove " + directory + " without following links: no secure directory stream here");
            }
            removeEntry(holder, name, directory, 0);
        }
    }

    private static void removeEntry(SecureDirectoryStream<Path> holder, Path name, Path shown, int depth) throws IOException {
        BasicFileAttributes attributes = holder.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .readAttributes();
        if (!attributes.isDirectory()) {
            holder.deleteFile(name);
            return;
        }
        if (depth >= MAX_REMOVE_DEPTH) {
            throw new IOException(shown + " is nested more than " + MAX_REMOVE_DEPTH + " (MAX_REMOVE_DEPTH) directories deep; left as it is");
        }
        try (SecureDirectoryStream<Path> inside = holder.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
            // Listed first, then removed: removing while the stream iterates could skip entries.
            for (Path entry : listed(inside)) {
                removeEntry(inside, entry.getFileName(), shown.resolve(entry.getFileName()), depth + 1);
            }
        }
        holder.deleteDirectory(name);
    }

    private static List<Path> listed(SecureDirectoryStream<Path> stream) {
        var entries = new ArrayList<Path>();
        stream.forEach(entries::add);
        return entries;
    }

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

    /** Where a walk ended: a descriptor of the directory that holds {@code name}, the last name, whose whole path is {@code path}. */
    private record Reached(int directory, String name, Path path) {
    }

    /**
     * Walks {@code path} from {@code /} to the directory that holds its last name, following no
     * link, except, when {@code followRootsLinks}, one that only root can have made (the last
     * name included: a link there is followed too, and the walk ends where it leads). Missing
     * directories are created when {@code create}, else end the walk with
     * {@link NoSuchFileException}; a missing last name is left to the caller.
     */
    private static Reached walk(Path path, boolean create, boolean followRootsLinks) throws IOException {
        String use = followRootsLinks ? READS : WRITES;
        Deque<String> pending = new ArrayDeque<>(components(path));
        int directory = check(Native.openat(Native.AT_FDCWD, "/", WALK_FLAGS | Native.O_DIRECTORY, 0), "cannot open", ROOT);
        Path directoryPath = ROOT;
        int linksFollowed = 0;
        try {
            while (true) {
                String name = pending.removeFirst();
                Path reached = directoryPath.resolve(name).normalize();
                boolean last = pending.isEmpty();
                if (last && !followRootsLinks) {
                    return new Reached(directory, name, reached);
                }
                int next = Native.openat(directory, name, WALK_FLAGS, 0);
                if (next == -Native.ENOENT && last) {
                    return new Reached(directory, name, reached);
                }
                if (next == -Native.ENOENT && !create) {
                    throw new NoSuchFileException(reached.toString());
                }
                if (next == -Native.ENOENT) {
                    int made = Native.mkdirat(directory, name, CREATED_DIRECTORY_MODE);
                    if (made != 0 && made != -Native.EEXIST) {
                        check(made, "cannot create", reached);
                    }
                    if (made == 0) {
                        // mkdirat takes the core's umask off the mode: under umask 077 the workload's user could not
                        // reach its payload file through the directory. Opened for fchmod (an O_PATH descriptor takes
                        // none), the walk goes on from this descriptor: the directory given the mode is the one walked.
                        next = check(Native.openat(directory, name,
                                Native.O_RDONLY | Native.O_DIRECTORY | Native.O_NOFOLLOW | Native.O_CLOEXEC, 0), "cannot open", reached);
                        try {
                            handOver(next, Optional.empty(), CREATED_DIRECTORY_MODE, reached);
                        } catch (IOException | RuntimeException e) {
                            Native.close(next);
                            throw e;
                        }
                    } else {
                        next = Native.openat(directory, name, WALK_FLAGS, 0);
                    }
                }
                check(next, "cannot open", reached);
                int type = Native.fileType(next);
                if (type == Native.S_IFDIR && !last) {
                    Native.close(directory);
                    directory = next;
                    directoryPath = reached;
                    continue;
                }
                String target = null;
                try {
                    check(type, "cannot examine", reached);
                    if (type == Native.S_IFLNK && followRootsLinks) {
                        target = rootsLinkTarget(directory, next, reached, ++linksFollowed);
                    }
                } finally {
                    Native.close(next);
                }
                if (target == null && last) {
                    return new Reached(directory, name, reached);
                }
                if (target == null) {
                    throw new IOException(type == Native.S_IFLNK ? linkRefused(reached, use) : "'" + reached + "' is not a directory");
                }
                if (target.startsWith("/")) {
                    Native.close(directory);
                    directory = -1; // closed: a failure to open the root again leaves nothing to close
                    directory = check(Native.openat(Native.AT_FDCWD, "/", WALK_FLAGS | Native.O_DIRECTORY, 0), "cannot open", ROOT);
                    directoryPath = ROOT;
                }
                // The target's names come before what was left of the path; a target of "/" alone names the directory itself.
                List<String> targetNames = Stream.of(target.split("/")).filter(targetName -> !targetName.isEmpty()).toList();
                (targetNames.isEmpty() ? List.of(".") : targetNames).reversed().forEach(pending::addFirst);
            }
        } catch (IOException | RuntimeException e) {
            if (directory >= 0) {
                Native.close(directory);
            }
            throw e;
        }
    }

    /**
     * The target of the link {@code link} (opened with {@code O_PATH|O_NOFOLLOW}) in
     * {@code directory}, when nobody but root can have placed or changed it: the directory is
     * root's and no group or other user may write to it (so no one else can have made, renamed
     * or replaced an entry in it; a sticky world-writable directory such as {@code /tmp} does not
     * qualify), and the link is root's. Both are read from the descriptors the walk holds, so
     * nothing can be swapped between the check and the use.
     *
     * @throws IOException naming the link, when it is not root's alone or is one link too many
     */
    private static String rootsLinkTarget(int directory, int link, Path reached, int followed) throws IOException {
        if (followed > MAX_LINKS_FOLLOWED) {
            throw new IOException("'" + reached + "' is a symbolic link past the " + MAX_LINKS_FOLLOWED
                    + " (MAX_LINKS_FOLLOWED) the core follows in one path it reads as root; links in a loop never end");
        }
        Native.FileStatus holder = Native.status(directory);
        check(holder.result(), "cannot examine the directory of", reached);
        if (holder.uid() != 0 || (holder.mode() & WRITABLE_BY_GROUP_OR_OTHERS) != 0) {
            throw new IOException("'" + reached + "' is a symbolic link in a directory a user other than root can change; "
                    + ROOTS_LINKS_ONLY);
        }
        Native.FileStatus status = Native.status(link);
        check(status.result(), "cannot examine", reached);
        if (status.uid() != 0) {
            throw new IOException("'" + reached + "' is a symbolic link owned by uid " + status.uid() + "; " + ROOTS_LINKS_ONLY);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(MAX_LINK_TARGET_BYTES);
            int length = check(Native.readlink(link, buffer, MAX_LINK_TARGET_BYTES), "cannot read the link", reached);
            if (length >= MAX_LINK_TARGET_BYTES) {
                throw new IOException("'" + reached + "' is a symbolic link whose target is longer than " + MAX_LINK_TARGET_BYTES + " bytes");
            }
            return new String(buffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
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
