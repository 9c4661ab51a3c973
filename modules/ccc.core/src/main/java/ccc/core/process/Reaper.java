package ccc.core.process;

import ccc.core.log.BackgroundLoop;
import ccc.core.log.Log;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reaps orphans re-parented to the core, as PID 1 or as a child subreaper, the moment they
 * exit, so that no zombie accumulates; and reaps nothing the JDK owns.
 *
 * <p><b>How an exit is seen.</b> One platform thread waits in {@code waitid(P_ALL, WEXITED |
 * WNOWAIT)}: the kernel wakes it when any child of the core exits, and {@code WNOWAIT} leaves
 * the child a zombie, so looking takes nothing from whoever owns it. Only when the core has no
 * child at all (the call fails at once) does the thread wait for a launch instead, or a second
 * at most, since an orphan can then come only from outside (to PID 1) or through a process the
 * core did not launch itself.
 *
 * <p><b>Whose zombie it is.</b> The JDK owns every process it started (the core's workloads,
 * privileged commands, and the processes adapters start with their own {@code ProcessBuilder},
 * which the core never hears of): its reaper thread waits for each by pid and takes its exit
 * status. Reaping one of those would steal that status (the JDK would report 0, late). Each wake
 * therefore reaps the exited children of the thread the kernel gives orphans to (the first live
 * thread of the process, the launcher's main thread, which waits for the JVM and never forks),
 * all of them in one pass over that thread's child list, so that a wake costs in proportion to
 * what was adopted and not to how many zombies wait, and zombies never pile up behind each other.
 * A process the JDK started comes to that thread too once its forking thread has ended, and the
 * JDK never starts one in a session of its own; the core's workloads run in sessions of their
 * own (the {@code ccc-exec} helper makes one) and are forked by a thread that lives as long as
 * the core. So a zombie there in another session than the core's is an orphan and is reaped at
 * once; one in the core's session may be the JDK's, whose reaper takes it within moments, and is
 * reaped only if it is still there {@link #OWNER_REAPS_WITHIN} after it was first seen. The JDK's
 * own exit futures ({@code onExit()}) are never touched: joining one can make the thread that
 * completes it run the JDK's exit handling, which waits until the process's output pipes close.
 * A zombie of another thread's child belongs to whoever forked it; the thread waits for its
 * owner to reap it (the JDK does at once).
 */
public final class Reaper {

    private static final Log LOG = Log.named("reaper");
    // When the core has no child at all: the longest an orphan that comes from outside waits.
    private static final Duration CHILDLESS_LOOK_EVERY = Duration.ofSeconds(1);
    // How long a zombie in the core's session is left to the JDK, which may own it, before it is reaped.
    static final Duration OWNER_REAPS_WITHIN = Duration.ofSeconds(2);
    // The longest another thread's zombie is waited for before waitid(2) is asked again; the first look comes sooner.
    private static final Duration OTHERS_ZOMBIE_BACKOFF = Duration.ofMillis(50);
    private static final Duration FIRST_LOOK_AFTER = Duration.ofMillis(1);

    /**
     * Held while an orphan is reaped, and by {@link ProcessTree} while it reads the child lists:
     * the kernel produces a child list one entry at a time, resuming after the entry it gave
     * last, or at the same position when that one has gone; a child reaped during the read
     * shifts the rest, and the entry after it is skipped. Without reaping the adopting thread's
     * list only grows during a read, so nothing in it is missed.
     */
    static final Object ADOPTED_LIST = new Object();

    private static final java.util.concurrent.Semaphore LAUNCHES = new java.util.concurrent.Semaphore(0);

    private Reaper() {
    }

    /**
     * Makes the core a child subreaper and starts reaping, off the start-up path (linking the
     * system call takes a while); the future tells whether orphans now come to the core (always
     * true for PID 1). Launches wait for it, so no workload starts before.
     */
    public static synchronized java.util.concurrent.CompletableFuture<Boolean> startInBackground() {
        // One reaper for the process, however many cores it runs (tests run many).
        if (started == null) {
            var adopting = new java.util.concurrent.CompletableFuture<Boolean>();
            Thread.ofPlatform().name("reaper-setup").daemon(true).start(() -> adopting.complete(start()));
            started = adopting;
        }
        return started;
    }

    private static java.util.concurrent.CompletableFuture<Boolean> started;

    /** Whether orphans come to the core (as PID 1 or a child subreaper) and the reaper runs. */
    public static synchronized boolean adopting() {
        return started != null && started.getNow(false);
    }

    /** Tells the reaper that the core has started a child, so that it waits for children again. */
    public static void childStarted() {
        LAUNCHES.release();
    }

    /** As {@link #startInBackground()}, on this thread. */
    private static boolean start() {
        if (!procMatchesThisProcess()) {
            LOG.warn("/proc belongs to another PID namespace; orphans are neither reaped nor cleaned up");
            return false;
        }
        boolean adopting = ProcessHandle.current().pid() == 1 || Native.becomeChildSubreaper();
        if (adopting) {
            // Linked here, before the first exit needs it.
            Native.waitid(Native.P_ALL, 0, Native.WNOWAIT | Native.WNOHANG);
            var reaper = new Reaper();
            Thread.ofPlatform().name("reaper").daemon(true).start(reaper::run);
        } else {
            LOG.warn("cannot become a child subreaper; orphans of the workload go to PID 1");
        }
        return adopting;
    }

    private void run() {
        // An iteration can fail (no file descriptor left to read /proc, say); the next one must still run.
        var loop = new BackgroundLoop("reaper");
        while (!Thread.currentThread().isInterrupted()) {
            loop.iteration(this::awaitExit);
        }
    }

    /**
     * Waits for one child's exit, then reaps every adopted orphan that has exited by now, not
     * only that one; see the class description.
     */
    void awaitExit() throws InterruptedException {
        LAUNCHES.drainPermits();
        int pid = Native.waitid(Native.P_ALL, 0, Native.WNOWAIT);
        if (pid == -Native.ECHILD) {
            LAUNCHES.tryAcquire(CHILDLESS_LOOK_EVERY.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        if (pid == -Native.EINTR) {
            return;
        }
        if (pid <= 0) {
            throw new IllegalStateException("waitid(2) failed: " + Native.describeErrno(-pid));
        }
        int reaped = reapExitedOrphans();
        if (reaped > 0) {
            LOG.debug("reaped orphans", "count", reaped);
        }
        // Forked by a thread of the core, or in the core's session and left to its owner a while: until it is
        // reaped, waitid(2) finds it again at once, so the next look waits for its owner, briefly.
        Duration wait = FIRST_LOOK_AFTER;
        for (Duration waited = Duration.ZERO; unreapedChild(pid) && waited.compareTo(OTHERS_ZOMBIE_BACKOFF) < 0; waited = waited.plus(wait)) {
            Thread.sleep(wait);
            wait = wait.multipliedBy(2);
        }
    }

    // The core's session zombies first seen at the time given (System.nanoTime()); only zombies among the adopting
    // thread's children are kept, and each pass drops the ones gone, so it holds at most as many as the core has children.
    private static final java.util.Map<Long, Long> OWNERS_ZOMBIES_SINCE = new java.util.HashMap<>();

    /**
     * Reaps every child of the adopting thread that has exited and that the JDK cannot own: one
     * read of that thread's child list, which holds only the live orphans and the exited ones,
     * then a look at each. A wake costs in proportion to what was adopted, and every zombie there
     * is reaped in the same wake, so zombies cannot pile up behind each other however fast
     * orphans appear. Called by the reaper's thread only.
     */
    static int reapExitedOrphans() {
        int reaped = 0;
        long now = System.nanoTime();
        var stillWaiting = new java.util.HashSet<Long>();
        var candidates = new java.util.ArrayList<Long>(adoptingThreadChildren());
        // What a workload cloned beside its main process (CLONE_PARENT) is the launcher's thread's child, and no owner reaps it.
        candidates.addAll(LauncherChildren.unowned());
        for (long child : candidates) {
            if (!unreapedChild(child)) {
                continue;
            }
            if (inTheCoresSession(child)) {
                long since = OWNERS_ZOMBIES_SINCE.computeIfAbsent(child, pid -> now);
                if (now - since < OWNER_REAPS_WITHIN.toNanos()) {
                    stillWaiting.add(child);
                    continue;
                }
            }
            synchronized (ADOPTED_LIST) {
                if (Native.waitid(Native.P_PID, child, Native.WNOHANG) == child) {
                    reaped++;
                }
            }
        }
        OWNERS_ZOMBIES_SINCE.keySet().retainAll(stillWaiting);
        return reaped;
    }

    /** Whether {@code pid} is in the core's own session, where the JDK starts its processes. */
    private static boolean inTheCoresSession(long pid) {
        OptionalLong session = session(Long.toString(pid));
        return session.isEmpty() || session.equals(CoreSession.ID);
    }

    /** The core's session, read once: it never changes. */
    private static final class CoreSession {
        static final OptionalLong ID = session("self");
    }

    /** The session of process {@code pid} ("self" for the core), from its {@code stat}; empty if it cannot be read. */
    private static OptionalLong session(String pid) {
        try (ProcFile stat = ProcFile.open("/proc/" + pid + "/stat")) {
            long session = stat.statField(3);
            return session < 0 ? OptionalLong.empty() : OptionalLong.of(session);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** Whether {@code pid} is a child of the core that has exited and was not reaped yet. */
    private static boolean unreapedChild(long pid) {
        return Native.waitid(Native.P_PID, pid, Native.WNOHANG | Native.WNOWAIT) == pid;
    }

    /** Whether {@code pid} is a child of the thread the kernel hands orphans to; see {@link #adoptingThreadChildren()}. */
    static boolean childOfAdoptingThread(long pid) {
        return adoptingThreadChildren().contains(pid);
    }

    /**
     * The children of the thread the kernel hands orphans to: the first thread of the process
     * still running, in the order {@code /proc/self/task} lists them (the kernel's own order),
     * which is the launcher's main thread. Every orphan the core adopted is among them.
     */
    static List<Long> adoptingThreadChildren() {
        return AdoptingThread.children();
    }

    /**
     * The thread the kernel hands orphans to, found once and then held by its {@code stat} and
     * child list, kept open: each look reads the two again, with no directory listing and no
     * open, since a sweep at every start and two looks at every stop read them. Found again
     * when it is no longer running (a zombie, or gone): orphans then go to the next thread.
     */
    private static final class AdoptingThread {
        // Guarded by AdoptingThread.class: the reaper's thread and the lifecycle's both read them.
        private static ProcFile stat;
        private static ProcFile children;

        static synchronized List<Long> children() {
            // Twice at most: the thread held may have ended since the last look, and then the next one is found.
            for (int attempt = 0; attempt < 2; attempt++) {
                if (stat == null && !find()) {
                    return List.of();
                }
                try {
                    if (running(stat.reread())) {
                        var pids = new java.util.ArrayList<Long>();
                        children.reread().numbersInto(pids);
                        return pids;
                    }
                } catch (IOException | RuntimeException e) {
                    // Gone: look for the next one.
                }
                forget();
            }
            return List.of();
        }

        /** Opens the first running thread of the core's; whether there is one. */
        private static boolean find() {
            String tasks = "/proc/" + ProcessHandle.current().pid() + "/task/";
            String[] threads = new java.io.File(tasks).list();
            for (String thread : threads == null ? new String[0] : threads) {
                try {
                    ProcFile threadStat = ProcFile.open(tasks + thread + "/stat");
                    if (!running(threadStat)) {
                        threadStat.close();
                        continue;
                    }
                    try {
                        children = ProcFile.open(tasks + thread + "/children");
                    } catch (IOException | RuntimeException e) {
                        threadStat.close();
                        throw e;
                    }
                    stat = threadStat;
                    return true;
                } catch (IOException | RuntimeException e) {
                    // Ended while we looked.
                }
            }
            return false;
        }

        private static boolean running(ProcFile threadStat) {
            char state = threadStat.statState();
            return state != 0 && state != 'Z' && state != 'X';
        }

        private static void forget() {
            if (stat != null) {
                stat.close();
                children.close();
            }
            stat = null;
            children = null;
        }
    }

    /**
     * Whether {@code /proc} shows this process's own PID namespace. When it does not (a PID
     * namespace without its own {@code /proc} mount), parent links read from it are another
     * namespace's, and acting on them could touch processes that are not ours.
     */
    public static boolean procMatchesThisProcess() {
        try {
            return Path.of("/proc/self").toRealPath().getFileName().toString().equals(Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            return false;
        }
    }

    static boolean isZombie(long pid) {
        try (ProcFile stat = ProcFile.open("/proc/" + pid + "/stat")) {
            return stat.statState() == 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
