package ccc.core.process;

import ccc.core.os.Signals;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Ends a process and everything it started, so that nothing of a workload survives a stop:
 * its descendants, its process group, and the orphans it left that were re-parented to the
 * core (the core is a child subreaper).
 *
 * <p>Each member is held by a pidfd ({@code pidfd_open(2)}), which refers to the process and
 * not to its number: signals go to the process itself even if its number were reused, and the
 * wait for the tree to end is one {@code poll(2)} on all of them, which returns the moment the
 * last one has ended (a zombie has ended: it only waits for its parent to collect it). Members
 * are found from the kernel's per-thread child lists ({@code /proc/PID/task/TID/children}),
 * which cost a few reads per member, not a scan of every process on the machine. Where the
 * kernel has no pidfds (before 5.3, or a seccomp filter refuses them) the tree is polled.
 */
public final class ProcessTree {

    // Only where the kernel offers no pidfds: how often the tree is looked at.
    private static final Duration POLL = Duration.ofMillis(5);
    // After SIGKILL a process is gone as soon as the kernel has torn it down; this only bounds a wait
    // for something stuck in uninterruptible sleep.
    private static final Duration AFTER_KILL = Duration.ofSeconds(2);

    private ProcessTree() {
    }

    /**
     * Sends {@code signal} to every member of {@code tree} (its process group too), waits until
     * {@code deadline} for them all to end, picking up members that appear meanwhile, then sends
     * SIGKILL to every survivor. SIGKILL, or a deadline already past, kills at once.
     *
     * @return whether the whole tree is gone
     */
    public static boolean end(WorkloadTree tree, int signal, Instant deadline) {
        // Collect before signalling: once a parent dies its children are re-parented and lost to it.
        try (Members members = new Members()) {
            members.collect(tree);
            if (members.isEmpty() && !tree.ownProcessGroup()) {
                return true;
            }
            if (signal != Signals.KILL && Instant.now().isBefore(deadline)) {
                members.send(tree, signal);
                // Members that appeared while the known ones ended (a fork just before the signal) get it too.
                while (members.awaitEnded(deadline) && !Thread.currentThread().isInterrupted()) {
                    if (!members.collect(tree)) {
                        return true;
                    }
                    members.send(tree, signal);
                }
            }
            members.collect(tree);
            members.send(tree, Signals.KILL);
            members.awaitEnded(Instant.now().plus(AFTER_KILL));
            return !members.collect(tree);
        }
    }

    /**
     * Links the system calls that ending a tree makes, by making each once on this process
     * harmlessly: linking a downcall spins bytecode for tens of milliseconds, which the first
     * stop, or the first workload found dead, should not pay. Called off the start-up path.
     */
    public static void linkSystemCalls() {
        long self = ProcessHandle.current().pid();
        Native.kill(self, 0);
        int pidfd = Native.pidfdOpen(self);
        if (pidfd >= 0) {
            Native.pidfdSendSignal(pidfd, 0);
            Native.pollReadable(new int[] {pidfd}, new boolean[1], 0);
            Native.close(pidfd);
        }
    }

    /** SIGKILL to one process and everything it started, at once. */
    public static boolean kill(long pid) {
        return end(new WorkloadTree(OptionalLong.of(pid), false, OptionalLong.empty()), Signals.KILL, Instant.now());
    }

    /**
     * When a process started, in clock ticks since boot ({@code /proc/PID/stat}, field 22): exact
     * and comparable between processes, unlike {@link ProcessHandle.Info#startInstant()}, which
     * is only as precise as the boot time in whole seconds.
     */
    public static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return OptionalLong.of(Long.parseLong(fields[19]));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * The children of {@code pid}, from the kernel's child list of each of its threads; from
     * {@link ProcessHandle#children()} (a scan of every process) where the kernel keeps no such lists.
     */
    static List<Long> children(long pid) {
        var children = new ArrayList<Long>();
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path thread : threads) {
                String list = Files.readString(thread.resolve("children"));
                for (String child : list.trim().split(" ")) {
                    if (!child.isEmpty()) {
                        children.add(Long.parseLong(child));
                    }
                }
            }
            return children;
        } catch (java.nio.file.NoSuchFileException e) {
            return ProcessHandle.of(pid).map(process -> process.children().map(ProcessHandle::pid).toList()).orElse(List.of());
        } catch (IOException | RuntimeException e) {
            return children;
        }
    }

    /**
     * The processes of one tree, each held by a pidfd while the kernel offers them. A member
     * that has ended stays in the map with no descriptor, so that it is not added again.
     */
    private static final class Members implements AutoCloseable {
        private static final int ENDED = -1;
        private static final int NO_PIDFD = -2;

        private final Map<Long, Integer> pidfds = new LinkedHashMap<>();
        private boolean pidfdsWork = true;

        boolean isEmpty() {
            return pidfds.values().stream().allMatch(fd -> fd == ENDED);
        }

        /**
         * Adds the tree's members not yet known: the main process and its descendants, and the
         * core's adopted children that started no earlier than the workload, with their
         * descendants (what a workload left behind when it double-forked away and was
         * re-parented to the core). Returns whether any member is still running.
         */
        boolean collect(WorkloadTree tree) {
            tree.pid().ifPresent(this::addWithDescendants);
            for (long member : List.copyOf(pidfds.keySet())) {
                if (pidfds.get(member) != ENDED) {
                    children(member).forEach(this::addWithDescendants);
                }
            }
            if (tree.startTicks().isPresent() && Reaper.procMatchesThisProcess()) {
                long since = tree.startTicks().getAsLong();
                // Orphans come to the one thread the kernel hands them to: one child list to read, not one per thread of the core.
                for (long child : Reaper.adoptingThreadChildren()) {
                    if (!pidfds.containsKey(child) && startTicks(child).orElse(-1) >= since) {
                        addWithDescendants(child);
                    }
                }
            }
            return pidfds.keySet().stream().anyMatch(this::running);
        }

        private void addWithDescendants(long pid) {
            if (pidfds.containsKey(pid) || !add(pid)) {
                return;
            }
            children(pid).forEach(this::addWithDescendants);
        }

        private boolean add(long pid) {
            int pidfd = pidfdsWork ? Native.pidfdOpen(pid) : -Native.ENOSYS;
            if (pidfd == -Native.ESRCH) {
                return false;
            }
            if (pidfd < 0) {
                // The kernel or a seccomp filter refuses pidfds: poll from now on.
                pidfdsWork &= pidfd != -Native.ENOSYS && pidfd != -Native.EPERM;
                pidfds.put(pid, NO_PIDFD);
            } else {
                pidfds.put(pid, pidfd);
            }
            return true;
        }

        /** Whether {@code pid} is a member that has not ended; a zombie has ended. */
        private boolean running(long pid) {
            int pidfd = pidfds.get(pid);
            if (pidfd == ENDED) {
                return false;
            }
            boolean ended = pidfd >= 0 ? readable(pidfd) : !alive(pid);
            if (ended) {
                close(pid);
            }
            return !ended;
        }

        void send(WorkloadTree tree, int signal) {
            if (tree.ownProcessGroup() && tree.pid().isPresent()) {
                Native.kill(-tree.pid().getAsLong(), signal);
            }
            pidfds.forEach((pid, pidfd) -> {
                if (pidfd >= 0) {
                    Native.pidfdSendSignal(pidfd, signal);
                } else if (pidfd == NO_PIDFD && alive(pid)) {
                    Native.kill(pid, signal);
                }
            });
        }

        /** Waits until every member known has ended, or {@code deadline}; returns whether they all have. */
        boolean awaitEnded(Instant deadline) {
            while (true) {
                List<Long> running = pidfds.keySet().stream().filter(this::running).toList();
                if (running.isEmpty()) {
                    return true;
                }
                long left = Duration.between(Instant.now(), deadline).toMillis();
                if (left <= 0 || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                int[] descriptors = running.stream().mapToInt(pidfds::get).filter(fd -> fd >= 0).toArray();
                if (descriptors.length < running.size()) {
                    sleep(Math.min(left, POLL.toMillis()));
                } else {
                    Native.pollReadable(descriptors, new boolean[descriptors.length], (int) Math.min(left, Integer.MAX_VALUE));
                }
            }
        }

        private static boolean readable(int pidfd) {
            boolean[] ready = new boolean[1];
            return Native.pollReadable(new int[] {pidfd}, ready, 0) > 0 && ready[0];
        }

        private void close(long pid) {
            int pidfd = pidfds.put(pid, ENDED);
            if (pidfd >= 0) {
                Native.close(pidfd);
            }
        }

        @Override
        public void close() {
            List.copyOf(pidfds.keySet()).forEach(this::close);
        }

        /** Without pidfds: whether {@code pid} runs; a zombie only waits for its parent (the JDK or the reaper). */
        private static boolean alive(long pid) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !Reaper.isZombie(pid);
        }

        private static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
