package ccc.core.process;

import ccc.core.os.Signals;
import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Ends a workload and everything it started, so that nothing of it survives a stop: its main
 * process and that process's group and descendants, and every orphan the core adopted (the core
 * is a child subreaper, so whatever a workload double-forks away, or leaves behind when its main
 * process exits, is re-parented to the core) with their descendants. Only processes the core's
 * own live threads started (privileged commands, an adapter's helpers) and their descendants are
 * left alone: they are children of those threads, never of the one thread orphans come to.
 *
 * <p>Each member is held by a pidfd ({@code pidfd_open(2)}), which refers to the process and
 * not to its number: signals go to the process itself even if its number were reused, and the
 * wait for the tree to end is one {@code poll(2)} on all of them at a time (a zombie has ended:
 * it only waits for its parent to collect it). Members are found from the kernel's per-thread
 * child lists ({@code /proc/PID/task/TID/children}), each member's read once per look, so a look
 * costs reads in proportion to the tree, not to every process on the machine; where the kernel
 * keeps no such lists one scan of {@code /proc/PID/stat} per look builds the parent links. Where
 * the kernel has no pidfds (before 5.3, or a seccomp filter refuses them) the tree is polled.
 *
 * <p>When the core adopts orphans, the stop signal goes to the main process and its group before
 * the first look, which waits up to {@link #FIRST_LOOK_WITHIN} for the main process to end (a
 * process takes about a millisecond to die): a tree that obeys is then mostly gone, and the look
 * reads what is left instead of taking the CPU from the processes that are ending. A child whose
 * parent ended before the look read its list has been re-parented to the core, whose list the
 * look reads too, and every member found gets the signal the moment it is found. Without
 * adoption such a child would go to PID 1 and be lost, so the tree is looked at first.
 *
 * <p>When the grace is over, the tree is frozen before it is killed, so a process that forks and
 * exits in a loop (its number hopping ahead of every look) cannot outrun the kill: SIGSTOP goes
 * to each member the moment it is found, and the tree is looked at again until a look finds no
 * new member ({@link #FREEZE_ROUNDS} looks at most); a stopped process forks nothing. Then every
 * member gets SIGKILL.
 */
public final class ProcessTree {

    /** Looks for members not yet frozen before the kill, at most: a tree that still grows after that many is killed as found. */
    static final int FREEZE_ROUNDS = 64;
    // Only where the kernel offers no pidfds: how often the tree is looked at.
    private static final Duration POLL = Duration.ofMillis(5);
    // After SIGKILL a process is gone as soon as the kernel has torn it down; this only bounds a wait
    // for something stuck in uninterruptible sleep.
    private static final Duration AFTER_KILL = Duration.ofSeconds(2);
    private static final int NO_SIGNAL = 0;
    /**
     * With the core adopting orphans, the longest the main process is waited for after the stop
     * signal before the tree is first looked at: members outside its group get the signal this
     * much later at most.
     */
    static final Duration FIRST_LOOK_WITHIN = Duration.ofMillis(10);

    /** A process's start, in clock ticks since boot: field 22 of {@code stat} (proc(5)), as {@link ProcFile#statField} counts. */
    static final int STAT_START_TIME = 19;

    private ProcessTree() {
    }

    /**
     * Sends {@code signal} to every member of {@code tree} (its process group too), waits until
     * {@code deadline} for them all to end, sending it to members that appear meanwhile, then
     * freezes what is left and sends it SIGKILL. SIGKILL, or a deadline already past, freezes
     * and kills at once. With {@link WorkloadTree#NONE} it ends the adopted orphans only: a sweep.
     *
     * @return whether the whole tree is gone
     */
    public static boolean end(WorkloadTree tree, int signal, Instant deadline) {
        return end(tree, signal, deadline, true);
    }

    /**
     * As {@link #end(WorkloadTree, int, Instant)}; with {@code withTheWorkloadsOwn}, the tree is
     * the workload's, and what is the workload's without descending from its main process (the
     * orphans the core adopted, what it cloned beside itself: {@link #adopted()}) ends with it.
     * Without, only the tree itself: a privileged command's, or an earlier start's that an adapter
     * returned late, beside which the workload may run on.
     */
    private static boolean end(WorkloadTree tree, int signal, Instant deadline, boolean withTheWorkloadsOwn) {
        if (tree.pid().isEmpty() && (!withTheWorkloadsOwn || adopted().isEmpty())) {
            // A sweep with nothing adopted, at every start: one read of one child list.
            return true;
        }
        try (Members members = new Members(tree, withTheWorkloadsOwn)) {
            boolean graceful = signal != Signals.KILL && Instant.now().isBefore(deadline);
            if (graceful && Reaper.adopting()) {
                // The main process and its group first, before any look: what the main process's end orphans comes to
                // the core, whose child list the look reads, and each member found gets the signal as it is found.
                members.signalRoot(signal);
                // A tree that obeys the signal is gone within moments: the first look waits that long at most for the
                // main process, so that it reads what is left rather than take the CPU from the processes that are ending.
                members.awaitEnded(earlier(deadline, Instant.now().plus(FIRST_LOOK_WITHIN)));
                members.collect(signal);
            } else {
                // Collect before signalling: once a parent dies its children are re-parented, to PID 1 when the core
                // does not adopt them, and lost.
                members.collect(NO_SIGNAL);
                if (!members.anyRunning()) {
                    // Nothing runs, the main process included, so its group is signalled no more either.
                    return true;
                }
                if (graceful) {
                    members.send(signal);
                    // A stopped process acts on no signal but SIGKILL: continued, it gets the stop signal now, not at the deadline.
                    members.send(Signals.CONT);
                }
            }
            if (graceful) {
                // Members that appeared while the known ones ended (a fork just before the signal) get it as they are found.
                // Bounded by the deadline whatever a look finds: awaitEnded returns at once when nothing known runs.
                while (Instant.now().isBefore(deadline) && members.awaitEnded(deadline) && !Thread.currentThread().isInterrupted()) {
                    if (members.collect(signal) == 0) {
                        return true;
                    }
                }
            }
            return members.freezeAndKill();
        }
    }

    private static Instant earlier(Instant one, Instant other) {
        return one.isBefore(other) ? one : other;
    }

    /**
     * SIGKILL to every orphan the core adopted and to their descendants: what a workload left
     * behind, swept when no workload's tree is being ended (a stop with nothing running, a start,
     * a shutdown).
     *
     * @return whether nothing adopted is left running
     */
    public static boolean sweepOrphans() {
        return end(WorkloadTree.NONE, Signals.KILL, Instant.now());
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

    /**
     * {@code signal} to the main process of {@code tree} through a pidfd opened while it is not
     * reaped, so never to a process that took its number; whether it was delivered.
     */
    public static boolean signalRoot(WorkloadTree tree, int signal) {
        int pidfd = tree.root().openPidfd();
        if (pidfd == -Native.ENOSYS && tree.pid().isPresent()) {
            // A kernel without pidfds: by number, as everything is there (the root answered ENOSYS only while not reaped).
            return Native.kill(tree.pid().getAsLong(), signal) == 0;
        }
        if (pidfd < 0) {
            return false;
        }
        try {
            return Native.pidfdSendSignal(pidfd, signal) == 0;
        } finally {
            Native.close(pidfd);
        }
    }

    /** SIGKILL to one process and everything it started, at once; nothing else of the workload's. */
    public static boolean kill(long pid) {
        return killOnly(new WorkloadTree(OptionalLong.of(pid), false));
    }

    /**
     * SIGKILL to {@code tree} at once, and to nothing else of the workload's: for a tree that is
     * not the running workload's (one an adapter's start returned after its timeout).
     */
    public static boolean killOnly(WorkloadTree tree) {
        return end(tree, Signals.KILL, Instant.now(), false);
    }

    /**
     * The children of {@code pid}, from the kernel's child list of each of its threads; from
     * {@link ProcessHandle#children()} (a scan of every process) where the kernel keeps no such lists.
     */
    static List<Long> children(long pid) {
        if (!ChildLists.KEPT) {
            return ProcessHandle.of(pid).map(process -> process.children().map(ProcessHandle::pid).toList()).orElse(List.of());
        }
        var children = new ArrayList<Long>();
        String tasks = "/proc/" + pid + "/task/";
        // One call that lists the directory, where a DirectoryStream costs a Path and an iterator step per thread.
        String[] threads = new File(tasks).list();
        for (String thread : threads == null ? new String[0] : threads) {
            try (ProcFile list = ProcFile.open(tasks + thread + "/children")) {
                list.numbersInto(children);
            } catch (IOException | RuntimeException e) {
                // This thread ended meanwhile: its children, if any, went to another, or with the process to the core.
            }
        }
        return children;
    }

    /**
     * The orphans the core adopted (the children of the thread the kernel hands them to, when it
     * hands them to the core at all) and the children of the launcher's thread but the helpers
     * waiting for a launch: workloads' main processes and what they cloned beside themselves
     * ({@link LauncherChildren}).
     */
    private static List<Long> adopted() {
        var found = new ArrayList<Long>(Reaper.adopting() ? Reaper.adoptingThreadChildren() : List.of());
        found.addAll(LauncherChildren.workloads());
        return found;
    }

    /** Whether the kernel keeps per-thread child lists ({@code CONFIG_PROC_CHILDREN}, on in every common distribution's kernel). */
    private static final class ChildLists {
        static final boolean KEPT = Files.exists(Path.of("/proc/thread-self/children"));
    }

    /**
     * Every process's parent, from one scan of {@code /proc/PID/stat}: where the kernel keeps no
     * child lists, one scan per look at a tree, rather than one per member.
     */
    private static Map<Long, List<Long>> parentLinks() {
        var childrenOf = new HashMap<Long, List<Long>>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                try {
                    String stat = Files.readString(entry.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
                    childrenOf.computeIfAbsent(Long.parseLong(fields[1]), parent -> new ArrayList<>()).add(Long.parseLong(name));
                } catch (IOException | RuntimeException e) {
                    // Ended while we looked.
                }
            }
        } catch (IOException e) {
            // No /proc: nothing to find.
        }
        return childrenOf;
    }

    /**
     * The processes of one tree, each held by a pidfd while the kernel offers them. A member
     * that has ended stays in the map with no descriptor; should its number come back in a child
     * list (a zombie not yet collected, or the number reused), it is opened and looked at again.
     */
    private static final class Members implements AutoCloseable {
        private static final int ENDED = -1;
        private static final int NO_PIDFD = -2;

        private static final long NOT_SIGNALLED = Long.MAX_VALUE;

        private final WorkloadTree tree;
        // Whether the orphans the core adopted and what the workload cloned beside itself belong to the tree.
        private final boolean withTheWorkloadsOwn;
        private final Map<Long, Integer> pidfds = new LinkedHashMap<>();
        // The clock tick since boot at which the graceful signal went out (NOT_SIGNALLED before), as a process's start is
        // counted, and the last pid the kernel had handed out just before it.
        private long signalledAtTick = NOT_SIGNALLED;
        private long lastPidBeforeTheSignal = Long.MAX_VALUE;
        private boolean pidfdsWork = true;
        private boolean rootOpened;
        // Only where the kernel keeps no child lists: the parent links of the current look.
        private Map<Long, List<Long>> childrenOf;

        Members(WorkloadTree tree, boolean withTheWorkloadsOwn) {
            this.tree = tree;
            this.withTheWorkloadsOwn = withTheWorkloadsOwn;
        }

        /**
         * Looks at the tree once: the main process and its descendants, the adopted orphans and
         * theirs, and the new children of members already known. Each new member that runs gets
         * {@code onSight} ({@link #NO_SIGNAL}: none) the moment it is found, before it can fork
         * again. Returns how many changes it saw: numbers not seen before (whether or not their
         * process has ended meanwhile: it may have forked first), numbers seen before whose process
         * runs again, and members that ended during the look. A look that sees none has seen the
         * whole tree, and a frozen tree stays as it was seen.
         */
        int collect(int onSight) {
            synchronized (Reaper.ADOPTED_LIST) {
                return collectSteadily(onSight);
            }
        }

        private int collectSteadily(int onSight) {
            childrenOf = ChildLists.KEPT ? null : parentLinks();
            var toVisit = new ArrayDeque<Long>();
            openRootOnce();
            if (withTheWorkloadsOwn) {
                toVisit.addAll(adopted());
            }
            pidfds.forEach((pid, pidfd) -> {
                if (pidfd != ENDED) {
                    toVisit.add(pid);
                }
            });
            var visited = new HashSet<Long>();
            int found = 0;
            while (!toVisit.isEmpty()) {
                long pid = toVisit.poll();
                if (!visited.add(pid)) {
                    continue;
                }
                Integer known = pidfds.get(pid);
                boolean fresh = known == null || known == ENDED;
                if (fresh) {
                    boolean running = add(pid, pidfdsWork ? Native.pidfdOpen(pid) : -Native.ENOSYS) && running(pid);
                    // A number not seen before counts even when its process has just ended: it may have forked first.
                    if (known == null || running) {
                        found++;
                    }
                    if (!running) {
                        continue;
                    }
                    if (onSight != NO_SIGNAL && (!graceful(onSight) || startedBeforeTheSignal(pid))) {
                        sendTo(pid, onSight);
                        if (onSight != Signals.STOP && onSight != Signals.KILL) {
                            // Continued, as the members known at the signal were: a stopped process acts on nothing else.
                            sendTo(pid, Signals.CONT);
                        }
                    }
                }
                List<Long> children = childrenOf == null ? children(pid) : childrenOf.getOrDefault(pid, List.of());
                // Looked at after its children, which count only if it still runs: then the list read was its own (its
                // number could go to another process only once it had ended and been reaped). One that ended meanwhile
                // handed its children to the core after the adopted list was read, so they are in neither list; the
                // change makes the caller look again.
                if (!running(pid)) {
                    found++;
                    continue;
                }
                toVisit.addAll(children);
            }
            childrenOf = null;
            return found;
        }

        /**
         * Opens the main process at the first look, through the tree ({@link WorkloadTree#root()}):
         * never by its number once it may be reaped. From then on it is a member like any other,
         * held by its pidfd.
         */
        private void openRootOnce() {
            if (rootOpened || tree.pid().isEmpty()) {
                return;
            }
            rootOpened = true;
            add(tree.pid().getAsLong(), pidfdsWork ? tree.root().openPidfd() : -Native.ENOSYS);
        }

        /** Records {@code pid} as a member held by {@code pidfd} (or minus the errno of its opening); whether it was found. */
        private boolean add(long pid, int pidfd) {
            if (pidfd == -Native.ESRCH) {
                // Gone and reaped (a main process its adapter already stopped): known from now on, so the next look
                // does not count it as new again, and again.
                pidfds.put(pid, ENDED);
                return false;
            }
            if (pidfd < 0) {
                // The kernel or a seccomp filter refuses pidfds: poll from now on. Out of descriptors: poll this one.
                pidfdsWork &= pidfd != -Native.ENOSYS && pidfd != -Native.EPERM;
                pidfds.put(pid, NO_PIDFD);
            } else {
                pidfds.put(pid, pidfd);
            }
            return true;
        }

        /** Whether any member known has not ended. */
        boolean anyRunning() {
            for (long pid : List.copyOf(pidfds.keySet())) {
                if (running(pid)) {
                    return true;
                }
            }
            return false;
        }

        /** {@code signal}, then SIGCONT, to the main process and its group, before any look at the tree; see {@link #send(int)}. */
        void signalRoot(int signal) {
            openRootOnce();
            send(signal);
            send(Signals.CONT);
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

        /**
         * {@code signal} to the main process's group, when it leads one and has not ended (while it
         * runs, its number, and so its group's, is no other process's), and to every member that has not ended.
         */
        void send(int signal) {
            if (graceful(signal) && signalledAtTick == NOT_SIGNALLED) {
                lastPidBeforeTheSignal = ProcFile.lastPid();
                signalledAtTick = ProcFile.uptimeTicks();
            }
            if (tree.ownProcessGroup() && tree.pid().isPresent() && pidfds.containsKey(tree.pid().getAsLong())
                    && running(tree.pid().getAsLong())) {
                Native.kill(-tree.pid().getAsLong(), signal);
            }
            List.copyOf(pidfds.keySet()).forEach(pid -> sendTo(pid, signal));
        }

        private static boolean graceful(int signal) {
            return signal != Signals.KILL && signal != Signals.STOP && signal != Signals.CONT;
        }

        /**
         * Whether {@code pid} was started before the graceful signal went out: a member found only during the stop (one
         * outside the main process's group) gets the signal on sight only then. One started since, such as the cleanup
         * a trap on the signal runs, is left to finish, as systemd and Docker leave it, until the deadline's SIGKILL.
         * Starts are counted in ticks of 10 ms; within the tick of the signal, the pids handed out before it tell (they
         * grow until they wrap, which takes far longer than a tick). One whose start cannot be read gets the signal.
         */
        private boolean startedBeforeTheSignal(long pid) {
            try (ProcFile stat = ProcFile.open("/proc/" + pid + "/stat")) {
                long startedAtTick = stat.statField(STAT_START_TIME);
                if (startedAtTick < 0) {
                    return true;
                }
                return startedAtTick == signalledAtTick ? pid <= lastPidBeforeTheSignal : startedAtTick < signalledAtTick;
            } catch (IOException | RuntimeException e) {
                return true;
            }
        }

        private void sendTo(long pid, int signal) {
            int pidfd = pidfds.get(pid);
            if (pidfd >= 0) {
                Native.pidfdSendSignal(pidfd, signal);
            } else if (pidfd == NO_PIDFD && alive(pid)) {
                Native.kill(pid, signal);
            }
        }

        /**
         * SIGSTOP to every member, then looks again until a look finds no new member (each new one
         * stopped as it is found), at most {@link #FREEZE_ROUNDS} times; then SIGKILL to them all.
         * Returns whether the whole tree is gone.
         */
        boolean freezeAndKill() {
            send(Signals.STOP);
            for (int round = 0; round < FREEZE_ROUNDS && collect(Signals.STOP) > 0; round++) {
                // Each look stops what it finds; the next finds what those forked before they stopped.
            }
            send(Signals.KILL);
            awaitEnded(Instant.now().plus(AFTER_KILL));
            // A member found only now outran every look: it is killed as it is found.
            if (collect(Signals.KILL) > 0) {
                awaitEnded(Instant.now().plus(AFTER_KILL));
            }
            return collect(Signals.KILL) == 0 && !anyRunning();
        }

        /**
         * Waits until every member known has ended, or {@code deadline}; returns whether they all
         * have. Each wake costs one {@code poll(2)} on the members still running, not one per member.
         */
        boolean awaitEnded(Instant deadline) {
            while (true) {
                long[] running = new long[pidfds.size()];
                int[] descriptors = new int[pidfds.size()];
                int count = 0;
                boolean polled = false;
                for (var entry : pidfds.entrySet()) {
                    int pidfd = entry.getValue();
                    if (pidfd >= 0) {
                        running[count] = entry.getKey();
                        descriptors[count++] = pidfd;
                    } else if (pidfd == NO_PIDFD) {
                        polled = true;
                    }
                }
                if (polled) {
                    List.copyOf(pidfds.keySet()).forEach(this::running);
                    polled = pidfds.containsValue(NO_PIDFD);
                }
                if (count == 0 && !polled) {
                    return true;
                }
                long left = Duration.between(Instant.now(), deadline).toMillis();
                if (left <= 0 || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                int timeout = (int) Math.min(left, polled ? POLL.toMillis() : Integer.MAX_VALUE);
                if (count == 0) {
                    sleep(timeout);
                    continue;
                }
                int[] fds = Arrays.copyOf(descriptors, count);
                boolean[] ready = new boolean[count];
                Native.pollReadable(fds, ready, timeout);
                for (int i = 0; i < count; i++) {
                    if (ready[i]) {
                        close(running[i]);
                    }
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
