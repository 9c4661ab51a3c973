package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Ends a process and everything it started, so that nothing of a workload survives a stop:
 * its descendants, its process group, and the orphans it left that were re-parented to the
 * core (the core is a child subreaper).
 */
public final class ProcessTree {

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
        // Collect before signalling: once a parent dies its children are re-parented and lost to descendants().
        List<ProcessHandle> members = new ArrayList<>();
        addMembers(tree, members);
        if (members.isEmpty() && !tree.ownProcessGroup()) {
            return true;
        }
        if (signal != Signals.KILL && Instant.now().isBefore(deadline)) {
            send(tree, members, signal);
            while (Instant.now().isBefore(deadline) && !Thread.currentThread().isInterrupted()) {
                addMembers(tree, members);
                if (noneAlive(members)) {
                    return true;
                }
                sleepUntil(Instant.now().plus(POLL).isBefore(deadline) ? Instant.now().plus(POLL) : deadline);
            }
        }
        addMembers(tree, members);
        send(tree, members, Signals.KILL);
        Instant giveUp = Instant.now().plus(AFTER_KILL);
        while (!noneAlive(members) && Instant.now().isBefore(giveUp) && !Thread.currentThread().isInterrupted()) {
            sleepUntil(Instant.now().plus(POLL));
        }
        return noneAlive(members);
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
     * Adds the tree's members not yet in {@code members}: the main process and its descendants,
     * and the core's children that started no earlier than the workload, with their descendants:
     * what a workload left behind when it double-forked away and was re-parented to the core.
     */
    private static void addMembers(WorkloadTree tree, List<ProcessHandle> members) {
        tree.pid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(root -> addWithDescendants(root, members)));
        for (ProcessHandle member : List.copyOf(members)) {
            if (member.isAlive()) {
                member.descendants().forEach(descendant -> addOnce(descendant, members));
            }
        }
        if (tree.startTicks().isPresent() && Reaper.procMatchesThisProcess()) {
            long since = tree.startTicks().getAsLong();
            ProcessHandle.current().children()
                    .filter(child -> startTicks(child.pid()).orElse(-1) >= since)
                    .forEach(child -> addWithDescendants(child, members));
        }
    }

    private static void addWithDescendants(ProcessHandle process, List<ProcessHandle> members) {
        addOnce(process, members);
        process.descendants().forEach(descendant -> addOnce(descendant, members));
    }

    private static void addOnce(ProcessHandle process, List<ProcessHandle> members) {
        if (!members.contains(process)) {
            members.add(process);
        }
    }

    private static void send(WorkloadTree tree, List<ProcessHandle> members, int signal) {
        if (tree.ownProcessGroup() && tree.pid().isPresent()) {
            Native.kill(-tree.pid().getAsLong(), signal);
        }
        for (ProcessHandle member : members) {
            if (alive(member)) {
                Native.kill(member.pid(), signal);
            }
        }
    }

    private static boolean noneAlive(List<ProcessHandle> members) {
        return members.stream().noneMatch(ProcessTree::alive);
    }

    /** A zombie has ended: it only waits for its parent (the JDK or the reaper) to collect it. */
    private static boolean alive(ProcessHandle process) {
        return process.isAlive() && !Reaper.isZombie(process.pid());
    }

    private static void sleepUntil(Instant until) {
        Duration wait = Duration.between(Instant.now(), until);
        if (wait.isNegative() || wait.isZero()) {
            return;
        }
        try {
            Thread.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
