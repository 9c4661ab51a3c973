package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Ends a process and everything it started, so that nothing of a workload survives a stop:
 * its descendants, its process group, and the orphans it left that were re-parented to the
 * core (the core is a child subreaper).
 */
public final class ProcessTree {

    private ProcessTree() {
    }

    /**
     * Sends {@code signal} to the process, its process group when it leads one, and its
     * descendants; waits up to {@code grace}; then sends SIGKILL to every survivor.
     * A zero grace kills at once.
     *
     * @return whether the whole tree is gone
     */
    public static boolean terminate(long pid, int signal, Duration grace, boolean processGroup) {
        Optional<ProcessHandle> root = ProcessHandle.of(pid);
        if (root.isEmpty() && !processGroup) {
            return true;
        }
        // Collect the tree before signalling: once a parent dies its children are re-parented and lost to descendants().
        List<ProcessHandle> tree = new ArrayList<>();
        root.ifPresent(handle -> {
            tree.add(handle);
            handle.descendants().forEach(tree::add);
        });
        if (!grace.isZero() && signal != Signals.KILL) {
            send(tree, pid, signal, processGroup);
            Instant deadline = Instant.now().plus(grace);
            while (Instant.now().isBefore(deadline) && anyAlive(tree)) {
                refresh(tree);
                sleep(Duration.ofMillis(10));
            }
        }
        refresh(tree);
        send(tree, pid, Signals.KILL, processGroup);
        return awaitGone(tree, Duration.ofSeconds(5));
    }

    /** SIGTERM, then SIGKILL after {@code grace}. */
    public static boolean terminate(long pid, Duration grace) {
        return terminate(pid, Signals.TERM, grace, false);
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
     * Kills the children of the core that started no earlier than the workload (given as its
     * {@link #startTicks}), with their descendants: what a workload left behind when it
     * double-forked away from its tree and was re-parented to the core.
     *
     * @return how many processes were killed
     */
    public static int killAdoptedSince(OptionalLong workloadStart) {
        if (workloadStart.isEmpty() || !Reaper.procMatchesThisProcess()) {
            return 0;
        }
        List<ProcessHandle> adopted = new ArrayList<>();
        ProcessHandle.current().children()
                .filter(child -> startTicks(child.pid()).orElse(-1) >= workloadStart.getAsLong())
                .forEach(child -> {
                    adopted.add(child);
                    child.descendants().forEach(adopted::add);
                });
        adopted.forEach(ProcessHandle::destroyForcibly);
        awaitGone(adopted, Duration.ofSeconds(5));
        return adopted.size();
    }

    private static void send(List<ProcessHandle> tree, long pid, int signal, boolean processGroup) {
        if (processGroup) {
            Native.kill(-pid, signal);
        }
        for (ProcessHandle member : tree) {
            if (member.isAlive()) {
                Native.kill(member.pid(), signal);
            }
        }
    }

    private static boolean anyAlive(List<ProcessHandle> tree) {
        return tree.stream().anyMatch(ProcessHandle::isAlive);
    }

    private static boolean awaitGone(List<ProcessHandle> tree, Duration wait) {
        Instant deadline = Instant.now().plus(wait);
        while (Instant.now().isBefore(deadline) && anyAlive(tree)) {
            sleep(Duration.ofMillis(5));
        }
        return !anyAlive(tree);
    }

    /** Adds descendants that appeared since the tree was collected. */
    private static void refresh(List<ProcessHandle> tree) {
        for (ProcessHandle member : List.copyOf(tree)) {
            if (member.isAlive()) {
                member.descendants().filter(d -> !tree.contains(d)).forEach(tree::add);
            }
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
