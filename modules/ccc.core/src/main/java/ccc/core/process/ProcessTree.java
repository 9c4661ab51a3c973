package ccc.core.process;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Ends a process and everything it started, so that nothing of a workload survives a stop. */
public final class ProcessTree {

    private ProcessTree() {
    }

    /**
     * Sends SIGTERM to the process and its descendants, waits up to {@code grace}, then sends
     * SIGKILL to every survivor. A zero grace kills at once.
     *
     * @return whether the whole tree is gone
     */
    public static boolean terminate(long pid, Duration grace) {
        Optional<ProcessHandle> root = ProcessHandle.of(pid);
        if (root.isEmpty()) {
            return true;
        }
        // Collect the tree before signalling: once the parent dies its children are re-parented and lost to descendants().
        List<ProcessHandle> tree = members(root.get());
        if (!grace.isZero()) {
            tree.forEach(ProcessHandle::destroy);
            Instant deadline = Instant.now().plus(grace);
            while (Instant.now().isBefore(deadline) && tree.stream().anyMatch(ProcessHandle::isAlive)) {
                refresh(tree);
                sleep(Duration.ofMillis(20));
            }
        }
        refresh(tree);
        tree.forEach(ProcessHandle::destroyForcibly);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(5));
        while (Instant.now().isBefore(deadline) && tree.stream().anyMatch(ProcessHandle::isAlive)) {
            sleep(Duration.ofMillis(10));
        }
        return tree.stream().noneMatch(ProcessHandle::isAlive);
    }

    private static List<ProcessHandle> members(ProcessHandle root) {
        var tree = new ArrayList<ProcessHandle>();
        tree.add(root);
        root.descendants().forEach(tree::add);
        return tree;
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
