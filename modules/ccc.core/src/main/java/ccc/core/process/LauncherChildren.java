package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The children of the launcher's thread, the one thread every workload and every helper started
 * ahead is forked from ({@link ProcessLauncher}), told apart. A workload's process can give that
 * thread children of its own: {@code clone(2)} with {@code CLONE_PARENT} makes the new process its
 * caller's sibling, neither a descendant of the main process nor an orphan the core adopts (it is
 * never orphaned). So every child of that thread but a helper still waiting for its launch is the
 * workload's, and is ended with its tree ({@link ProcessTree}); and one that no owner reaps (a
 * {@link SpawnedProcess}, or the JDK for a process it started) is reaped as an orphan is
 * ({@link Reaper}), or its zombie would stay for the core's life.
 */
final class LauncherChildren {

    /**
     * Held while the launcher's thread starts a process and records it, and while the child list
     * is read and told apart: a helper just spawned is never taken for the workload's.
     */
    private static final Object LOCK = new Object();
    // The launcher's thread's child list (/proc/self/task/TID/children), once that thread runs.
    private static volatile String childList;
    // Guarded by LOCK: that list, opened at its first read and read again at each (the thread lives as long as the core), so
    // that the looks of every stop and the sweep of every start make no open of their own.
    private static ProcFile opened;
    // Guarded by LOCK. Pruned to the children there are at every read, so each holds at most as many as the thread has.
    private static final Set<Long> helpersWaiting = new HashSet<>();
    private static final Set<Long> reapedByOwner = new HashSet<>();

    private LauncherChildren() {
    }

    /** Starts a process from the launcher's thread; see {@link #started}. */
    @FunctionalInterface
    interface ProcessStart<T extends Process> {
        T start() throws IOException;
    }

    /** Called first on the launcher's thread: finds its child list. Without {@code /proc} there is none to read. */
    static void launcherThreadStarted() {
        try {
            String thread = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            childList = "/proc/self/task/" + thread + "/children";
        } catch (IOException | RuntimeException e) {
            childList = null;
        }
    }

    /**
     * Runs {@code start}, which starts one process, and records that process as reaped by its
     * owner, and as a helper waiting for a launch when {@code helper}; a look at the children
     * waits meanwhile.
     */
    static <T extends Process> T started(ProcessStart<T> start, boolean helper) throws IOException {
        synchronized (LOCK) {
            T process = start.start();
            reapedByOwner.add(process.pid());
            if (helper) {
                helpersWaiting.add(process.pid());
            }
            return process;
        }
    }

    /** The helper {@code pid} waits no more: it was handed a command, and is the workload, or it was let go. */
    static void helperLeft(long pid) {
        synchronized (LOCK) {
            helpersWaiting.remove(pid);
        }
    }

    /** Its owner reaped {@code pid}: a process that takes the number later is no longer its. */
    static void reaped(long pid) {
        synchronized (LOCK) {
            reapedByOwner.remove(pid);
            helpersWaiting.remove(pid);
        }
    }

    /** The children of the launcher's thread but the helpers waiting for a launch: workloads' processes, all of them. */
    static List<Long> workloads() {
        synchronized (LOCK) {
            List<Long> children = children();
            children.removeAll(helpersWaiting);
            return children;
        }
    }

    /** The children of the launcher's thread that no owner reaps: processes a workload cloned beside its main process. */
    static List<Long> unowned() {
        synchronized (LOCK) {
            List<Long> children = children();
            children.removeAll(reapedByOwner);
            return children;
        }
    }

    /** The thread's children, read now; drops what has left the list from the records. Under {@link #LOCK}. */
    private static List<Long> children() {
        var children = new ArrayList<Long>();
        String list = childList;
        if (list == null) {
            return children;
        }
        try {
            opened = opened == null ? ProcFile.open(list) : opened.reread();
            opened.numbersInto(children);
        } catch (IOException | RuntimeException e) {
            if (opened != null) {
                opened.close();
                opened = null;
            }
            return children;
        }
        var present = new HashSet<>(children);
        reapedByOwner.retainAll(present);
        helpersWaiting.retainAll(present);
        return children;
    }
}
