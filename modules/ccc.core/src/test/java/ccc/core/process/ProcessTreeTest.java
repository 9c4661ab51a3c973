package ccc.core.process;

import ccc.core.os.Signals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Ending a tree is driven by the members' ends, seen through pidfds: a tree that obeys the stop
 * signal is gone when its last member is, long before its grace runs out, and a zombie member
 * counts as ended.
 */
class ProcessTreeTest {

    // Far longer than any of these trees takes to obey: ending before it means the tree was not killed at the deadline.
    private static final Duration GRACE = Duration.ofSeconds(60);

    private final String marker = "9" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
    private Process process;

    @AfterEach
    void cleanUp() {
        if (process != null) {
            ProcessTree.kill(process.pid());
        }
    }

    private Process start(String script) throws Exception {
        process = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        return process;
    }

    private static void awaitChildren(long pid, int count) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (ProcessTree.children(pid).size() < count) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("no " + count + " children of " + pid);
            }
            Thread.onSpinWait();
        }
    }

    private static WorkloadTree treeOf(Process process) {
        return new WorkloadTree(OptionalLong.of(process.pid()), false);
    }

    @Test
    void childrenComeFromTheKernelsChildLists() throws Exception {
        Process shell = start("sleep " + marker + "; :");
        awaitChildren(shell.pid(), 1);
        List<Long> children = ProcessTree.children(shell.pid());
        assertEquals(1, children.size());
        // The child is the shell's fork until it has exec'd sleep: wait for the exec.
        Instant deadline = Instant.now().plusSeconds(10);
        String command;
        while (!(command = ProcessHandle.of(children.getFirst()).orElseThrow().info().command()
                .map(c -> c.substring(c.lastIndexOf('/') + 1)).orElse("")).equals("sleep") && Instant.now().isBefore(deadline)) {
            Thread.onSpinWait();
        }
        assertEquals("sleep", command);
    }

    @Test
    void aShellAndItsChildEndOnTheStopSignalWithoutWaitingForTheGrace() throws Exception {
        Process shell = start("sleep " + marker + "; :");
        awaitChildren(shell.pid(), 1);
        long child = ProcessTree.children(shell.pid()).getFirst();
        Instant began = Instant.now();
        assertTrue(ProcessTree.end(treeOf(shell), Signals.TERM, began.plus(GRACE)));
        assertTrue(Duration.between(began, Instant.now()).compareTo(GRACE.dividedBy(2)) < 0, "waited for the grace");
        assertTrue(shell.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + Signals.TERM, shell.exitValue(), "the shell got SIGTERM, not SIGKILL");
        assertTrue(ProcessHandle.of(child).map(p -> !p.isAlive() || Reaper.isZombie(child)).orElse(true), "the child survived");
    }

    @Test
    void aZombieMemberCountsAsEnded() throws Exception {
        // The subshell exits at once; sleep, exec'd in the shell's place, never collects it: a zombie in the tree.
        Process workload = start("(exit 3) & exec sleep " + marker);
        Instant deadline = Instant.now().plusSeconds(10);
        while (ProcessTree.children(workload.pid()).stream().noneMatch(Reaper::isZombie)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("no zombie child appeared");
            }
            Thread.onSpinWait();
        }
        assertEndedBySigtermBeforeTheGrace(workload, "waited for the zombie until the grace ran out");
    }

    @Test
    void aMainProcessAlreadyReapedEndsTheTreeAtOnceNotAtTheGrace() throws Exception {
        // As when an adapter's stop ended its workload and waited for it: the number names no process any more.
        Process ended = start("exit 0");
        assertTrue(ended.waitFor(10, TimeUnit.SECONDS));
        Instant began = Instant.now();
        assertTrue(ProcessTree.end(new WorkloadTree(OptionalLong.of(ended.pid()), true), Signals.TERM, began.plus(GRACE)));
        assertTrue(Duration.between(began, Instant.now()).compareTo(GRACE.dividedBy(2)) < 0,
                "looked for the gone main process again and again until the grace ran out");
    }

    @Test
    void aProcessThatTookTheNumberOfTheReapedMainProcessIsLeftAlone() throws Exception {
        // The attack: the main process is reaped, and the kernel gives its number to the next process, here a bystander
        // leading a group of its own (setsid). Ending the tree, at the grace and at once, and signalling its main process
        // must reach no process by that number.
        Process bystander = new ProcessBuilder("setsid", "sleep", marker).start();
        try {
            long number = bystander.pid();
            Instant deadline = Instant.now().plusSeconds(10);
            while (!commandLine(number).contains(marker)) {
                assertTrue(Instant.now().isBefore(deadline), "the bystander did not start");
                Thread.onSpinWait();
            }
            var reaped = new WorkloadTree(OptionalLong.of(number), true, () -> -Native.ESRCH);
            assertTrue(ProcessTree.end(reaped, Signals.TERM, Instant.now().plusSeconds(1)));
            assertTrue(ProcessTree.end(reaped, Signals.KILL, Instant.now()));
            assertFalse(ProcessTree.signalRoot(reaped, Signals.KILL));
            assertFalse(bystander.waitFor(200, TimeUnit.MILLISECONDS), "the bystander that took the number was signalled");
            assertTrue(bystander.isAlive());
        } finally {
            bystander.destroyForcibly();
        }
    }

    @Test
    void aStoppedWorkloadIsContinuedSoThatItEndsAtTheStopSignalNotAtTheGrace() throws Exception {
        Process workload = start("kill -STOP $$; sleep " + marker);
        Instant deadline = Instant.now().plusSeconds(10);
        while (!stopped(workload.pid())) {
            assertTrue(Instant.now().isBefore(deadline), "the workload did not stop itself");
            Thread.onSpinWait();
        }
        assertEndedBySigtermBeforeTheGrace(workload, "the stopped workload waited for the grace");
    }

    /** With this JVM adopting orphans (as the core does), a shell running {@code script} once it has a child. */
    private Process startAdoptingWithAChild(String script) throws Exception {
        assertTrue(Reaper.startInBackground().get(10, TimeUnit.SECONDS), "the test JVM could not become a child subreaper");
        Process shell = start(script);
        awaitChildren(shell.pid(), 1);
        return shell;
    }

    @Test
    void aChildOrphanedByTheStopSignalBeforeTheLookIsFoundAmongTheAdoptedAndEnded() throws Exception {
        // With the core adopting, the stop signal reaches the main process before the tree is looked at. The shell dies
        // at SIGTERM at once; its child gets nothing from the signal (the tree leads no group of its own), so it ends
        // only if it is found: as the shell's child, or re-parented to this JVM if the shell died first.
        Process shell = startAdoptingWithAChild("sleep " + marker + " & wait");
        long child = ProcessTree.children(shell.pid()).getFirst();
        assertEndedBySigtermBeforeTheGrace(shell, "waited for the grace");
        assertTrue(ended(child), "the shell's child survived its stop");
    }

    @Test
    void aChildForkedAtTheStopSignalIsFoundAmongTheAdoptedAndEnded() throws Exception {
        // At SIGTERM the shell starts a child and exits: that child never was in the tree when it was signalled, and is
        // an orphan of this JVM from the moment its parent exits.
        // A child the signal reaches between its fork and its exec runs the trap's handler, which its exec then drops:
        // it survives SIGTERM, as any process may, and goes at the grace. Found, it ends either way; not found, never.
        Process shell = startAdoptingWithAChild("trap 'sleep " + marker + " & exit 0' TERM; while :; do sleep 0.01; done");
        assertTrue(ProcessTree.end(treeOf(shell), Signals.TERM, Instant.now().plusSeconds(2)));
        assertTrue(shell.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, shell.exitValue(), "the trap did not run: this test shows nothing");
        assertTrue(ProcessHandle.allProcesses().noneMatch(process -> commandLine(process.pid()).contains(marker) && !ended(process.pid())),
                "the child forked at the stop signal survived");
    }

    @Test
    void aMemberOutsideTheGroupOfAMainProcessThatOutlivesTheSignalGetsItLongBeforeTheGrace() throws Exception {
        // The first look waits a moment for the main process to obey; one that does not must not hold the signal back
        // from the members the group signal misses: here a child in a session of its own.
        Process shell = startAdoptingWithAChild("trap : TERM; setsid sleep " + marker + " & while :; do wait; done");
        long child = ProcessTree.children(shell.pid()).getFirst();
        Instant deadline = Instant.now().plusSeconds(10);
        while (!commandLine(child).contains(marker)) {
            assertTrue(Instant.now().isBefore(deadline), "the child did not start sleep");
            Thread.onSpinWait();
        }
        var ending = Thread.ofPlatform().start(() -> ProcessTree.end(treeOf(shell), Signals.TERM, Instant.now().plus(GRACE)));
        try {
            while (!ended(child)) {
                assertTrue(Instant.now().isBefore(deadline), "the child outside the group got no signal before the grace");
                Thread.onSpinWait();
            }
            assertTrue(shell.isAlive(), "the shell ended: this test shows nothing");
        } finally {
            ProcessTree.kill(shell.pid());
            ending.join(Duration.ofSeconds(30));
        }
    }

    /** Whether {@code pid} has ended: gone, or a zombie waiting to be collected. */
    private static boolean ended(long pid) {
        return ProcessHandle.of(pid).map(process -> !process.isAlive() || Reaper.isZombie(pid)).orElse(true);
    }

    /** Ends {@code workload}'s tree with SIGTERM and a long grace, and checks that SIGTERM, not the grace's SIGKILL, ended it. */
    private static void assertEndedBySigtermBeforeTheGrace(Process workload, String waitedForTheGrace) throws InterruptedException {
        Instant began = Instant.now();
        assertTrue(ProcessTree.end(treeOf(workload), Signals.TERM, began.plus(GRACE)));
        assertTrue(Duration.between(began, Instant.now()).compareTo(GRACE.dividedBy(2)) < 0, waitedForTheGrace);
        assertTrue(workload.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + Signals.TERM, workload.exitValue());
    }

    private static String commandLine(long pid) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "cmdline"));
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static boolean stopped(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'T';
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
