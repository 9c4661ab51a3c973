package ccc.core.process;

import ccc.core.log.BackgroundLoop;
import ccc.core.log.Log;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/**
 * Reaps orphans re-parented to the core, as PID 1 or as a child subreaper, so that no zombie
 * accumulates. The JDK reaps only the processes it started, each by its own pid, and does so
 * at once; a zombie child still there on the next scan is therefore an adopted orphan, and
 * reaping it takes nothing from the JDK.
 */
public final class Reaper {

    private static final Log LOG = Log.named("reaper");
    private static final Duration SCAN_EVERY = Duration.ofMillis(250);

    private final Set<Long> zombiesSeen = new HashSet<>();

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

    /** As {@link #startInBackground()}, on this thread. */
    private static boolean start() {
        if (!procMatchesThisProcess()) {
            LOG.warn("/proc belongs to another PID namespace; orphans are neither reaped nor cleaned up");
            return false;
        }
        boolean adopting = ProcessHandle.current().pid() == 1 || Native.becomeChildSubreaper();
        if (adopting) {
            var reaper = new Reaper();
            Thread.ofPlatform().name("reaper").daemon(true).start(reaper::run);
        } else {
            LOG.warn("cannot become a child subreaper; orphans of the workload go to PID 1");
        }
        return adopting;
    }

    private void run() {
        // A scan can fail (no file descriptor left to read /proc, say); the next one must still run.
        new BackgroundLoop("reaper").every(SCAN_EVERY, this::scan);
    }

    void scan() {
        var zombiesNow = new HashSet<Long>();
        ProcessHandle.current().children().forEach(child -> {
            if (isZombie(child.pid())) {
                zombiesNow.add(child.pid());
            }
        });
        for (long pid : zombiesNow) {
            if (zombiesSeen.contains(pid) && Native.reap(pid)) {
                LOG.debug("reaped an orphan", "pid", pid);
            }
        }
        zombiesSeen.clear();
        zombiesSeen.addAll(zombiesNow);
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
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
