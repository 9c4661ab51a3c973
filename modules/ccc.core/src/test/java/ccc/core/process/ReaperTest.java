package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reaper reaps an adopted orphan as it exits, and never a process the JDK started, even one
 * whose forking thread has ended so that the kernel handed it to the thread orphans go to, nor
 * while the JDK's handling of its exit waits for the output a grandchild keeps open.
 */
class ReaperTest {

    // The issue names this bound for seeing a death; an orphan's zombie must not outlive it.
    private static final Duration ZOMBIE_AT_MOST = Duration.ofMillis(100);

    @BeforeAll
    static void becomeSubreaper() throws Exception {
        assertTrue(Reaper.startInBackground().get(10, TimeUnit.SECONDS), "the test JVM could not become a child subreaper");
    }

    private static String marker() {
        return "reaper-test-" + ThreadLocalRandom.current().nextInt(1_000_000, 9_999_999);
    }

    /** The pid of the process whose last argument is {@code marker}, once it exists. */
    private static long awaitProcess(String marker) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (var entries = Files.list(Path.of("/proc"))) {
                for (Path entry : entries.toList()) {
                    try {
                        String[] argv = new String(Files.readAllBytes(entry.resolve("cmdline"))).split("\0");
                        if (argv.length > 0 && argv[argv.length - 1].equals(marker)) {
                            return Long.parseLong(entry.getFileName().toString());
                        }
                    } catch (IOException | NumberFormatException e) {
                        // Not a process, or gone meanwhile.
                    }
                }
            }
        }
        throw new AssertionError("no process " + marker);
    }

    /** The process's state letter, or 0 once it is gone (reaped). */
    private static char state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Starts an orphan that exits 0.3 s later, in a session of its own as a workload's are (when
     * {@code ownSession}) or in this JVM's, and returns how long it stayed a zombie, in nanoseconds.
     */
    private static long zombieLifetimeOfAnOrphan(boolean ownSession) throws Exception {
        String marker = marker();
        // The outer shell exits at once; the inner one, orphaned, is re-parented to this JVM and exits 0.3 s later.
        var command = new ArrayList<String>(ownSession ? List.of("setsid") : List.of());
        command.addAll(List.of("sh", "-c", "sh -c 'sleep 0.3; exit 4' " + marker + " & exit 0"));
        Process outer = new ProcessBuilder(command).start();
        // As the core's launcher does: a reaper with no child to wait for waits for a launch.
        Reaper.childStarted();
        assertEquals(0, outer.waitFor());
        long orphan = awaitProcess(marker);
        assertEquals(ProcessHandle.current().pid(), ProcessHandle.of(orphan).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L),
                "the orphan was not re-parented to this JVM");
        long zombieSince = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        char state;
        while ((state = state(orphan)) != 0) {
            if (state == 'Z' && zombieSince == 0) {
                zombieSince = System.nanoTime();
            }
            assertTrue(System.nanoTime() < deadline, "the orphan was never reaped");
        }
        return zombieSince == 0 ? 0 : System.nanoTime() - zombieSince;
    }

    @Test
    void adoptedOrphansAreReapedAsTheyExit() throws Exception {
        // The median of five, so that one orphan that exits while the machine is busy does not decide it.
        var lifetimes = new ArrayList<Long>();
        for (int i = 0; i < 5; i++) {
            lifetimes.add(zombieLifetimeOfAnOrphan(true));
        }
        lifetimes.sort(null);
        long median = lifetimes.get(2);
        assertTrue(median <= ZOMBIE_AT_MOST.toNanos(), "orphans stayed zombies for " + lifetimes.stream().map(n -> n / 1_000_000 + " ms").toList());
    }

    @Test
    void anOrphanInTheCoresOwnSessionIsReapedOnceTheJdkHadItsTime() throws Exception {
        // The JDK may own a zombie in the core's session, so it gets the JDK's time first; then it is reaped all the same.
        long lifetime = zombieLifetimeOfAnOrphan(false);
        System.out.println("an orphan in the core's session stayed a zombie for " + lifetime / 1_000_000 + " ms");
        assertTrue(lifetime <= Reaper.OWNER_REAPS_WITHIN.plusSeconds(2).toNanos(), "stayed a zombie for " + lifetime / 1_000_000 + " ms");
    }

    /** Starts {@code sh -c script} with the JDK on a thread that has ended when this returns, as an adapter's call thread does. */
    private static Process startOnAThreadThatEnds(String script) throws InterruptedException {
        var started = new AtomicReference<Process>();
        Thread forker = Thread.ofPlatform().start(() -> {
            try {
                started.set(new ProcessBuilder("sh", "-c", script).start());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        forker.join();
        return started.get();
    }

    @Test
    void aProcessTheJdkStartedOnAThreadThatEndedKeepsItsExitStatus() throws Exception {
        Process process = startOnAThreadThatEnds("sleep 1; exit 3");
        // The kernel hands the child to the thread orphans go to once the forking thread has ended in the kernel too.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Reaper.childOfAdoptingThread(process.pid())) {
            assertTrue(process.isAlive() && System.nanoTime() < deadline, "not a child of the adopting thread: this test shows nothing");
            Thread.onSpinWait();
        }
        assertEquals(3, process.waitFor(), "the reaper took the JDK's exit status");
    }

    @Test
    void aProcessOfTheJdkWhoseGrandchildHoldsItsOutputKeepsItsExitStatus() throws Exception {
        Process process = startOnAThreadThatEnds("sleep 30 & echo started; sleep 1; exit 3");
        // A reader blocked on the output, as the core's output pumps are: the JDK's exit handling waits for it.
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                process.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException e) {
                // Closed: done.
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<ProcessHandle> grandchildren = List.of();
        while (grandchildren.isEmpty() || !Reaper.childOfAdoptingThread(process.pid())) {
            assertTrue(process.isAlive() && System.nanoTime() < deadline, "not set up in time: this test shows nothing");
            grandchildren = process.descendants().toList();
        }
        try {
            assertEquals(3, ccc.api.Workload.of(process).exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
            assertEquals(3, process.exitValue(), "the reaper took the JDK's exit status");
        } finally {
            grandchildren.forEach(ProcessHandle::destroyForcibly);
        }
        reader.join(Duration.ofSeconds(10));
    }

    @Test
    void manyShortProcessesOfTheJdkKeepTheirExitStatus() throws Exception {
        var processes = new ArrayList<Process>();
        for (int i = 0; i < 40; i++) {
            processes.add(new ProcessBuilder("sh", "-c", "exit " + (i % 7 + 1)).start());
        }
        var codes = new ArrayList<Integer>();
        for (Process process : processes) {
            codes.add(process.waitFor());
        }
        var expected = new ArrayList<Integer>();
        for (int i = 0; i < 40; i++) {
            expected.add(i % 7 + 1);
        }
        assertEquals(List.copyOf(expected), codes);
    }

    @Test
    void theAdoptingThreadsChildListIsReadAsItIsAtEachLook() throws Exception {
        // The list is held open after the first look; each look must still see what was adopted and reaped since.
        Reaper.adoptingThreadChildren();
        String marker = marker();
        Process outer = new ProcessBuilder("setsid", "sh", "-c", "sh -c 'sleep 30' " + marker + " & exit 0").start();
        Reaper.childStarted();
        assertEquals(0, outer.waitFor());
        long orphan = awaitProcess(marker);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Reaper.adoptingThreadChildren().contains(orphan)) {
            assertTrue(System.nanoTime() < deadline, "the orphan adopted after the first look was never in the list");
            Thread.onSpinWait();
        }
        // Its own child (sleep) with it, so that nothing of the test outlives it.
        ProcessTree.kill(orphan);
        while (Reaper.adoptingThreadChildren().contains(orphan)) {
            assertTrue(System.nanoTime() < deadline, "the orphan, killed and reaped, stayed in the list");
            Thread.onSpinWait();
        }
    }
}
