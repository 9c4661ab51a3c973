package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Launch;
import ccc.core.log.Redactor;
import ccc.core.os.Signals;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Workloads started with {@code posix_spawn(3)}, in a helper started ahead of them: their exit
 * code and death by a signal are reported exactly and at once, even while a grandchild holds
 * their output open; they get the environment built for them and nothing else, their output, no
 * descriptor of the core, an empty signal mask and default signal actions; a program that cannot
 * be run fails the start with a message that says why. The helper waiting for the next launch is
 * in a session of its own, holds no environment and no descriptor of the core but its command
 * pipe, takes a command message of exactly the bound, is replaced when it has ended, and is let
 * go when the launcher closes.
 */
class PosixSpawnTest {

    private static final String SH = "/bin/sh";

    private static void requireSpawn() {
        // The runtime image's C library (glibc 2.36) has every call; a C library without them uses ProcessBuilder.
        Assumptions.assumeTrue(PosixSpawn.available(), "posix_spawn_file_actions_addclosefrom_np is missing from this C library");
    }

    private static Optional<Path> helper() {
        Optional<Path> helper = PrivilegeDrop.locateHelper();
        Assumptions.assumeTrue(helper.isPresent(), "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        return helper;
    }

    /** A launcher with one helper ahead: what one helper does, apart from how many wait. */
    private static ProcessLauncher launcher(PrivilegeDrop privilegeDrop, WorkloadOutput output) {
        return launcher(privilegeDrop, output, 1, ProcessLauncher.REFILL_WHEN_QUIET_FOR);
    }

    private static ProcessLauncher launcher(PrivilegeDrop privilegeDrop, WorkloadOutput output, int helpersAhead, Duration refillWhenQuietFor) {
        return new ProcessLauncher(privilegeDrop, Optional.empty(), List.of(), output, CompletableFuture.completedFuture(null),
                helpersAhead, refillWhenQuietFor);
    }

    private static PrivilegeDrop withHelper(Optional<Path> helper) {
        return new PrivilegeDrop(UserDirectory.system(), helper, PrivilegeDrop.currentUid() == 0);
    }

    /** Spawns {@code command} with exactly {@code environment}, as a ready helper does. */
    private static Process spawn(List<String> command, Map<String, String> environment) throws IOException {
        return PosixSpawn.start(command, environment.entrySet().stream().map(variable -> variable.getKey() + "=" + variable.getValue()).toList());
    }

    /** The helpers waiting for a command: this JVM's children running {@code ccc-exec --await-command}. */
    private static List<Long> waitingHelpers() {
        return ProcessHandle.current().children()
                .filter(child -> child.info().arguments().map(arguments -> List.of(arguments).equals(List.of("--await-command"))).orElse(false))
                .map(ProcessHandle::pid).sorted().toList();
    }

    /**
     * The helpers waiting once the launcher's thread has done what it was given: another test's
     * launcher may have a spawn under way, whose helper would otherwise seem this test's.
     */
    static List<Long> helpersWaitingNow() {
        try {
            ProcessLauncher.awaitLauncherThread();
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new AssertionError(e);
        }
        return waitingHelpers();
    }

    private static String readAll(InputStream in) throws IOException {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theExitCodeAndADeathBySignalAreReportedExactly() throws Exception {
        requireSpawn();
        Process exited = spawn(List.of(SH, "-c", "exit 3"), Map.of());
        assertEquals(3, exited.waitFor());
        assertEquals(3, exited.exitValue());
        assertFalse(exited.isAlive());

        Process killed = spawn(List.of(SH, "-c", "kill -TERM $$; sleep 30"), Map.of());
        assertEquals(128 + 15, killed.waitFor(), "128 plus SIGTERM, as the JDK reports it");

        Process destroyed = spawn(List.of(SH, "-c", "sleep 30"), Map.of());
        assertTrue(destroyed.isAlive());
        assertThrows(IllegalThreadStateException.class, destroyed::exitValue);
        assertFalse(destroyed.waitFor(50, TimeUnit.MILLISECONDS), "still running");
        destroyed.destroyForcibly();
        assertTrue(destroyed.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + 9, destroyed.exitValue());
        assertEquals(destroyed, destroyed.onExit().get(10, TimeUnit.SECONDS));
        assertFalse(Files.exists(Path.of("/proc", Long.toString(destroyed.pid()))), "reaped, not left a zombie");
    }

    @Test
    void aLaunchedWorkloadsExitCodeReachesTheCore() throws Exception {
        requireSpawn();
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        ManagedProcess process = launcher.launch(Launch.of(SH, "-c", "exit 7"));
        assertEquals(7, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        ManagedProcess killed = launcher.launch(Launch.of(SH, "-c", "kill -KILL $$"));
        assertEquals(128 + 9, killed.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
    }

    @Test
    void aReapedWorkloadIsNeverOpenedOrSignalledByItsNumberAgain() throws Exception {
        requireSpawn();
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        ManagedProcess process = launcher.launch(Launch.of(SH, "-c", "exit 0"));
        assertEquals(0, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        // Reaped: its number may be another process's by now.
        assertEquals(-Native.ESRCH, process.openPidfd());
        assertFalse(process.signal("TERM"), "a signal went to the number of a reaped workload");
        assertEquals(-Native.ESRCH, process.tree().root().openPidfd());
    }

    @Test
    void theEnvironmentIsExactlyTheOneGiven() throws Exception {
        requireSpawn();
        Process env = spawn(List.of("/usr/bin/env"), Map.of("ONE", "1", "TWO", "zwei drei"));
        assertEquals(Set.of("ONE=1", "TWO=zwei drei"), Set.copyOf(readAll(env.getInputStream()).lines().toList()));
        assertEquals(0, env.waitFor());
    }

    @Test
    void aLaunchedWorkloadGetsOnlyTheBuiltEnvironment() throws Exception {
        requireSpawn();
        PrivilegeDrop privilegeDrop = withHelper(helper());
        var output = new WorkloadOutput(1000, new Redactor());
        ManagedProcess process = launcher(privilegeDrop, output).launch(Launch.of("/usr/bin/env").withEnvironment("EXTRA", "x"));
        assertEquals(0, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        process.outputDrained().toCompletableFuture().get(10, TimeUnit.SECONDS);

        Map<String, String> built = new WorkloadEnvironment(System.getenv(), List.of())
                .build(privilegeDrop.workloadAccount(Optional.empty()), Map.of("EXTRA", "x"));
        Set<String> expected = built.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> seen = output.tail(1000, WorkloadOutput.Stream.STDOUT).stream().map(WorkloadOutput.Line::text)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, seen);
    }

    @Test
    void stdoutAndStderrLinesArrive() throws Exception {
        requireSpawn();
        var output = new WorkloadOutput(100, new Redactor());
        ManagedProcess process = launcher(withHelper(helper()), output)
                .launch(Launch.of(SH, "-c", "echo first out; echo first err >&2; echo second out"));
        assertEquals(0, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        process.outputDrained().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(List.of("first out", "second out"),
                output.tail(100, WorkloadOutput.Stream.STDOUT).stream().map(WorkloadOutput.Line::text).toList());
        assertEquals(List.of("first err"), output.tail(100, WorkloadOutput.Stream.STDERR).stream().map(WorkloadOutput.Line::text).toList());
    }

    @Test
    void theExitIsSeenWhileAGrandchildHoldsTheOutputOpen() throws Exception {
        requireSpawn();
        // The grandchild prints its pid, then keeps stdout and stderr open for 30 s.
        Process process = spawn(List.of(SH, "-c", "sleep 30 & echo $!; exit 4"), Map.of());
        var firstLine = new CompletableFuture<String>();
        var reachedEnd = new CompletableFuture<Void>();
        Thread pump = Thread.ofPlatform().start(() -> {
            try (var in = process.getInputStream()) {
                var line = new StringBuilder();
                int b;
                while ((b = in.read()) >= 0) {
                    if (b == '\n' && !firstLine.isDone()) {
                        firstLine.complete(line.toString());
                    }
                    line.append((char) b);
                }
                reachedEnd.complete(null);
            } catch (IOException e) {
                reachedEnd.completeExceptionally(e);
            }
        });
        long grandchild = Long.parseLong(firstLine.get(10, TimeUnit.SECONDS).trim());
        try {
            // A generous bound: the grandchild holds the pipe for 30 s.
            assertTrue(process.waitFor(10, TimeUnit.SECONDS), "the exit is seen while the grandchild holds the pipe");
            assertEquals(4, process.exitValue());
            assertFalse(reachedEnd.isDone(), "the pump still reads: the grandchild holds the pipe");
        } finally {
            Native.kill(grandchild, 9);
        }
        reachedEnd.get(10, TimeUnit.SECONDS);
        pump.join();
    }

    @Test
    void closingAStreamWhileAPumpReadsItIsSafe() throws Exception {
        requireSpawn();
        Process process = spawn(List.of(SH, "-c", "echo ready; exec sleep 30"), Map.of());
        InputStream in = process.getInputStream();
        var ready = new CompletableFuture<Void>();
        var ended = new AtomicReference<Object>();
        Thread pump = Thread.ofPlatform().start(() -> {
            try {
                int b;
                while ((b = in.read()) >= 0) {
                    if (b == '\n') {
                        ready.complete(null);
                    }
                }
                ended.set("end of stream");
            } catch (IOException e) {
                ended.set(e);
            }
        });
        ready.get(10, TimeUnit.SECONDS);
        in.close();
        process.destroyForcibly();
        assertEquals(128 + 9, process.waitFor());
        pump.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(pump.isAlive(), "the pump ends once the writer is gone");
        assertTrue(ended.get() instanceof String || ended.get() instanceof IOException, "ended with " + ended.get());
    }

    @Test
    void aProgramThatCannotBeRunFailsTheStartSayingWhy() {
        requireSpawn();
        IOException failure = assertThrows(IOException.class, () -> spawn(List.of("/nonexistent/program"), Map.of()));
        assertTrue(failure.getMessage().contains("/nonexistent/program") && failure.getMessage().contains("No such file or directory"),
                failure.getMessage());
        assertThrows(IOException.class, () -> spawn(List.of(SH, "-c", "exit 0\0; rm -rf /"), Map.of()),
                "a NUL would cut the argument short");
    }

    @Test
    void aMissingHelperFailsTheLaunchSayingWhy() {
        requireSpawn();
        var launcher = launcher(withHelper(Optional.of(Path.of("/nonexistent/ccc-exec"))), new WorkloadOutput(100, new Redactor()));
        IOException failure = assertThrows(IOException.class, () -> launcher.launch(Launch.of("sleep", "1")));
        assertTrue(failure.getMessage().contains("/nonexistent/ccc-exec") && failure.getMessage().contains("No such file or directory"),
                failure.getMessage());
    }

    @Test
    void aCommandTheHelperCannotRunFailsTheLaunchWithItsReasonAndLeavesNoProcess() throws Exception {
        // As a JDK process start throws for a program that is not there: the launch waits for the exec, so a workload
        // that never ran is never reported started (it was, and then exited with 127).
        requireSpawn();
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        try {
            for (Launch launch : List.of(Launch.of("no-such-command-anywhere"),
                    Launch.of("sleep", "1").in(Path.of("/no/such/directory")))) {
                Set<Long> childrenBefore = ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet());
                var refused = assertThrows(ReadyHelper.NotStartedException.class, () -> launcher.launch(launch));
                assertEquals(launch.workingDirectory().isPresent()
                        ? "cannot change directory to '/no/such/directory': No such file or directory"
                        : "cannot run 'no-such-command-anywhere': No such file or directory", refused.getMessage());
                // Its helper ended and was reaped; only the one started ahead in its place may be new.
                Set<Long> waiting = Set.copyOf(helpersWaitingNow());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                List<Long> left;
                while (!(left = ProcessHandle.current().children().map(ProcessHandle::pid)
                        .filter(pid -> !childrenBefore.contains(pid) && !waiting.contains(pid)).toList()).isEmpty()
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(List.of(), left, "processes left by the refused launch");
            }
        } finally {
            launcher.close();
        }
    }

    @Test
    void aWorkloadRunsInTheHelperStartedAheadAndAnotherIsStartedForTheNext() throws Exception {
        Launched once = launchOnce(Launch.of("sleep", "30"));
        ManagedProcess second = once.launcher().launch(Launch.of("sleep", "30"));
        assertEquals(once.ahead(), second.processId(), "the second workload is the helper started ahead");
        for (ManagedProcess process : List.of(once.workload(), second)) {
            process.signal("KILL");
            assertEquals(128 + 9, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        }
        once.launcher().close();
    }

    @Test
    void helpersUsedInABurstOfLaunchesAreReplacedOnlyOnceItPausesButOneIsAlwaysReady() throws Exception {
        requireSpawn();
        // A pause that never comes: only the helper started because none was left ever waits.
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()), ProcessLauncher.HELPERS_AHEAD, Duration.ofHours(1));
        try {
            List<Long> before = helpersWaitingNow();
            ManagedProcess first = launcher.launch(Launch.of("sleep", "30"));
            long ready = awaitNewWaitingHelper(before, first.processId());
            Thread.sleep(300);
            assertEquals(List.of(ready), newWaitingHelpers(before, first.processId()), "no helper is started during the burst but the one needed");
            ManagedProcess second = launcher.launch(Launch.of("sleep", "30"));
            assertEquals(ready, second.processId(), "the second runs in the helper that was ready");
            awaitNewWaitingHelper(before, first.processId(), second.processId());
            for (ManagedProcess process : List.of(first, second)) {
                process.signal("KILL");
                assertEquals(128 + 9, process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
            }
        } finally {
            launcher.close();
        }
    }

    @Test
    void helpersAreReplacedOnlyOnceTheCoreHasBeenQuietNotWhileItChangesPhase() throws Exception {
        assertNoHelperStartedWhileBusy(launcher -> launcher::noteActivity, "while the core changed phase");
    }

    @Test
    void helpersAreNotReplacedWhileTheApiAnswersRequests() throws Exception {
        assertNoHelperStartedWhileBusy(launcher -> {
            var lastAnswer = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
            launcher.countAnswersOf(lastAnswer::get);
            return () -> lastAnswer.set(System.nanoTime());
        }, "while requests were answered");
    }

    /**
     * After a launch, the core made busy by {@code busyNow} (given the launcher) every 50 ms for
     * three quiet times starts only the helper the launch left missing; once it is quiet, as many
     * as it keeps ahead wait.
     */
    private static void assertNoHelperStartedWhileBusy(java.util.function.Function<ProcessLauncher, Runnable> busyNow, String busy)
            throws Exception {
        requireSpawn();
        Duration quiet = Duration.ofMillis(300);
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()), ProcessLauncher.HELPERS_AHEAD, quiet);
        Runnable activity = busyNow.apply(launcher);
        List<Long> before = helpersWaitingNow();
        ManagedProcess workload = launcher.launch(Launch.of("sleep", "30"));
        try {
            awaitNewWaitingHelper(before, workload.processId());
            long busyUntil = System.nanoTime() + quiet.multipliedBy(3).toNanos();
            while (System.nanoTime() < busyUntil) {
                activity.run();
                Thread.sleep(50);
            }
            assertEquals(1, newWaitingHelpers(before, workload.processId()).size(), "a helper was started " + busy);
            awaitWaitingHelpers(before, ProcessLauncher.HELPERS_AHEAD, List.of(workload));
        } finally {
            workload.signal("KILL");
            workload.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            launcher.close();
        }
    }

    @Test
    void onceLaunchesPauseAsManyHelpersWaitAsABurstNeedsAndEachLaunchOfTheNextBurstRunsInOne() throws Exception {
        requireSpawn();
        var launcher = new ProcessLauncher(withHelper(helper()), Optional.empty(), List.of(), new WorkloadOutput(100, new Redactor()),
                CompletableFuture.completedFuture(null));
        List<ManagedProcess> workloads = new ArrayList<>();
        List<Long> before = helpersWaitingNow();
        try {
            workloads.add(launcher.launch(Launch.of("sleep", "30")));
            List<Long> waiting = awaitWaitingHelpers(before, ProcessLauncher.HELPERS_AHEAD, workloads);
            for (int i = 0; i < ProcessLauncher.HELPERS_AHEAD; i++) {
                ManagedProcess next = launcher.launch(Launch.of("sleep", "30"));
                assertTrue(waiting.contains(next.processId()), "launch " + (i + 2) + " ran in a helper that waited: " + next.processId()
                        + " not in " + waiting);
                workloads.add(next);
            }
            awaitWaitingHelpers(before, ProcessLauncher.HELPERS_AHEAD, workloads);
        } finally {
            for (ManagedProcess process : workloads) {
                process.signal("KILL");
                process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            launcher.close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!waitingHelpers().stream().filter(pid -> !before.contains(pid)).toList().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of(), waitingHelpers().stream().filter(pid -> !before.contains(pid)).toList(), "every helper ahead goes at close");
    }

    /** Waits until exactly {@code count} helpers this JVM started wait, none of them {@code workloads}; their pids. */
    private static List<Long> awaitWaitingHelpers(List<Long> before, int count, List<ManagedProcess> workloads) throws InterruptedException {
        long[] excluded = workloads.stream().mapToLong(ManagedProcess::processId).toArray();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Long> waiting = newWaitingHelpers(before, excluded);
        while (waiting.size() != count && System.nanoTime() < deadline) {
            Thread.sleep(5);
            waiting = newWaitingHelpers(before, excluded);
        }
        assertEquals(count, waiting.size(), "helpers waiting: " + waiting);
        return waiting;
    }

    @Test
    void aHelperStartedAheadIsInASessionOfItsOwnAndGoesWhenTheLauncherCloses() throws Exception {
        Launched once = launchOnce(Launch.of(SH, "-c", "exit 0"));
        // A signal to the core's process group (a terminal's ^C) does not reach it, once it has run its first steps.
        Path stat = Path.of("/proc", Long.toString(once.ahead()), "stat");
        List<String> itsOwn = List.of(Long.toString(once.ahead()), Long.toString(once.ahead()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> groupAndSession = groupAndSession(stat);
        while (!groupAndSession.equals(itsOwn) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            groupAndSession = groupAndSession(stat);
        }
        assertEquals(itsOwn, groupAndSession, "its own process group and session");
        ProcessHandle handle = ProcessHandle.of(once.ahead()).orElseThrow();
        once.launcher().close();
        handle.onExit().get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), waitingHelpers().stream().filter(pid -> !once.helpersBefore().contains(pid)).toList(),
                "no helper is started after close");
    }

    @Test
    void aHelperThatEndedWhileWaitingIsReplacedAtTheLaunch() throws Exception {
        Launched once = launchOnce(Launch.of(SH, "-c", "exit 0"));
        ProcessHandle killed = ProcessHandle.of(once.ahead()).orElseThrow();
        assertEquals(0, Native.kill(once.ahead(), 9));
        // Gone by the launch (a helper killed during the hand-over would be a workload killed at once: its exit shows it).
        killed.onExit().get(10, TimeUnit.SECONDS);
        ManagedProcess second = once.launcher().launch(Launch.of(SH, "-c", "exit 6"));
        assertTrue(second.processId() != once.ahead());
        assertEquals(6, second.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        once.launcher().close();
    }

    @Test
    void aHelperThatDoesNotTakeItsCommandIsKilledAndReplacedWithinTheHandOverBound() throws Exception {
        Launched once = launchOnce(Launch.of(SH, "-c", "exit 0"));
        // Stopped, as its own user may stop it when the core is not root: it reads nothing.
        assertEquals(0, Native.kill(once.ahead(), Signals.STOP));
        try {
            // More than a pipe holds, so the hand-over must wait for the helper to read.
            Launch launch = Launch.of(SH, "-c", "exit 7").withEnvironment("FILL", "x".repeat(120_000));
            ManagedProcess second = assertTimeoutPreemptively(ReadyHelper.HAND_OVER_WITHIN.multipliedBy(4), () -> once.launcher().launch(launch));
            assertTrue(second.processId() != once.ahead(), "the workload runs in another helper");
            assertEquals(7, second.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
            ProcessHandle.of(once.ahead()).ifPresent(stopped -> assertFalse(stopped.isAlive(), "the helper that took nothing was killed"));
        } finally {
            Native.kill(once.ahead(), Signals.KILL);
            once.launcher().close();
        }
    }

    @Test
    void aCommandThatFitsThePipeOfAStoppedHelperRunsInAnotherWithinTheHandOverBound() throws Exception {
        // The write does not wait, but the exec never comes: the stopped helper was the workload, shown running.
        Launched once = launchOnce(Launch.of(SH, "-c", "exit 0"));
        assertEquals(0, Native.kill(once.ahead(), Signals.STOP));
        try {
            ManagedProcess second = assertTimeoutPreemptively(ReadyHelper.HAND_OVER_WITHIN.multipliedBy(4),
                    () -> once.launcher().launch(Launch.of(SH, "-c", "exit 7")));
            assertTrue(second.processId() != once.ahead(), "the workload runs in another helper");
            assertEquals(7, second.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
            ProcessHandle.of(once.ahead()).ifPresent(stopped -> assertFalse(stopped.isAlive(), "the stopped helper was killed"));
        } finally {
            Native.kill(once.ahead(), Signals.KILL);
            once.launcher().close();
        }
    }

    @Test
    void aSmallCommandForAStoppedHelperWhosePipeWasFilledEndsWithinTheHandOverBound() throws Exception {
        Launched once = launchOnce(Launch.of(SH, "-c", "exit 0"));
        // What a workload of a core that is not root can do (its user is the helper's): stop the helper, then fill its
        // command pipe through /proc (descriptor 3, the read end, opened for writing), so that a message of a page or
        // less no longer fits.
        assertEquals(0, Native.kill(once.ahead(), Signals.STOP));
        Process fill = new ProcessBuilder("dd", "if=/dev/zero", "of=/proc/" + once.ahead() + "/fd/3", "bs=4096", "count=1024",
                "oflag=nonblock").redirectErrorStream(true).start();
        String filled = readAll(fill.getInputStream());
        assertTrue(fill.waitFor(10, TimeUnit.SECONDS));
        assertTrue(filled.contains("Resource temporarily unavailable"), "the pipe is full: " + filled);
        try {
            Launch small = Launch.of(SH, "-c", "exit 7");
            ManagedProcess second = assertTimeoutPreemptively(ReadyHelper.HAND_OVER_WITHIN.multipliedBy(4), () -> once.launcher().launch(small),
                    "a command that fits a page waited on the full pipe of a stopped helper, with nothing to end the wait");
            assertTrue(second.processId() != once.ahead(), "the workload runs in another helper");
            assertEquals(7, second.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        } finally {
            Native.kill(once.ahead(), Signals.KILL);
            once.launcher().close();
        }
    }

    @Test
    void aCommandBeyondTheMessageBoundIsRefusedBeforeAnyHelperIsUsed() throws Exception {
        requireSpawn();
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        String huge = "x".repeat(ReadyHelper.MAX_COMMAND_MESSAGE / 2);
        IOException failure = assertThrows(IOException.class, () -> launcher.launch(Launch.of("echo", huge, huge)));
        assertTrue(failure.getMessage().contains(Integer.toString(ReadyHelper.MAX_COMMAND_MESSAGE)), failure.getMessage());
        launcher.close();
    }

    @Test
    void aCommandMessageOfExactlyTheBoundReachesTheExec() throws Exception {
        requireSpawn();
        List<String> arguments = List.of("--", SH, "-c", "exit 0");
        // Variables under the kernel's bound on one string (MAX_ARG_STRLEN), the last one filling the message to the byte.
        var environment = new ArrayList<String>();
        int length = ReadyHelper.message(arguments, environment).length;
        for (int i = 0; length < ReadyHelper.MAX_COMMAND_MESSAGE; i++) {
            String name = "FILL" + i + "=";
            int value = Math.min(64 * 1024, ReadyHelper.MAX_COMMAND_MESSAGE - length - name.length() - 1);
            environment.add(name + "x".repeat(Math.max(0, value)));
            length = ReadyHelper.message(arguments, environment).length;
        }
        assertEquals(ReadyHelper.MAX_COMMAND_MESSAGE, length, "the message is exactly the bound");
        // The kernel may refuse that much at the exec (its bound is a quarter of the stack limit), but ccc-exec must not.
        try {
            Process process = ReadyHelper.start(helper().orElseThrow().toString()).run(ReadyHelper.message(arguments, environment));
            assertEquals(0, process.waitFor());
        } catch (ReadyHelper.NotStartedException refused) {
            assertEquals("cannot run '" + SH + "': Argument list too long", refused.getMessage());
        }
    }

    /** A launcher after its first launch: the workload, the helper it started ahead, and the helpers that waited before. */
    private record Launched(ProcessLauncher launcher, ManagedProcess workload, long ahead, List<Long> helpersBefore) {
    }

    private static Launched launchOnce(Launch first) throws Exception {
        requireSpawn();
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        List<Long> before = helpersWaitingNow();
        ManagedProcess workload = launcher.launch(first);
        return new Launched(launcher, workload, awaitNewWaitingHelper(before, workload.processId()), before);
    }

    /** The process group and session fields of a {@code /proc/PID/stat}. */
    private static List<String> groupAndSession(Path stat) throws IOException {
        String[] fields = Files.readString(stat).split("\\) ", 2)[1].split(" ");
        return List.of(fields[2], fields[3]);
    }

    /** The waiting helpers that were not there {@code before} and are none of {@code workloads}. */
    private static List<Long> newWaitingHelpers(List<Long> before, long... workloads) {
        return waitingHelpers().stream().filter(pid -> !before.contains(pid) && Arrays.stream(workloads).noneMatch(workload -> workload == pid))
                .toList();
    }

    /** The helper this JVM started ahead after a launch: a waiting one that was not there {@code before}, nor is a workload. */
    private static long awaitNewWaitingHelper(List<Long> before, long... workloads) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            List<Long> fresh = newWaitingHelpers(before, workloads);
            if (!fresh.isEmpty()) {
                assertEquals(1, fresh.size(), "one helper started ahead: " + fresh);
                return fresh.getFirst();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no helper was started ahead");
    }

    @Test
    void noDescriptorOfTheCoreReachesTheWorkloadAndItsSignalsAreItsOwn() throws Exception {
        requireSpawn();
        // A descriptor the core holds open without close-on-exec, as native code may: inherited but for the spawn's closefrom.
        int held = Native.openat(Native.AT_FDCWD, "/proc/self/status", Native.O_RDONLY, 0);
        assertTrue(held >= 0, "open: " + held);
        try {
            Process spawned = spawn(List.of("/bin/sleep", "30"), Map.of());
            try {
                assertOnlyStandardDescriptorsAndDefaultSignals(spawned.pid());
            } finally {
                spawned.destroyForcibly();
                spawned.waitFor();
            }
            ManagedProcess launched = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor())).launch(Launch.of("sleep", "30"));
            try {
                assertOnlyStandardDescriptorsAndDefaultSignals(launched.processId());
            } finally {
                launched.signal("KILL");
                launched.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
        } finally {
            Native.close(held);
        }
    }

    @Test
    void theHelperWaitingForTheNextLaunchHoldsNoEnvironmentAndNoDescriptorOfTheCore() throws Exception {
        requireSpawn();
        // A descriptor the core holds open without close-on-exec, as native code may.
        int held = Native.openat(Native.AT_FDCWD, "/proc/self/status", Native.O_RDONLY, 0);
        assertTrue(held >= 0, "open: " + held);
        var launcher = launcher(withHelper(helper()), new WorkloadOutput(100, new Redactor()));
        try {
            List<Long> before = helpersWaitingNow();
            ManagedProcess workload = launcher.launch(Launch.of(SH, "-c", "exit 0").withEnvironment("FOR_THE_WORKLOAD", "only"));
            Path proc = Path.of("/proc", Long.toString(awaitNewWaitingHelper(before, workload.processId())));
            assertEquals(0, Files.readAllBytes(proc.resolve("environ")).length, "the waiting helper has no environment at all");
            var descriptors = descriptors(proc);
            assertEquals(Set.of("0", "1", "2", "3", "4"), descriptors.keySet(), "descriptors " + descriptors);
            assertEquals("/dev/null", descriptors.get("0"));
            assertTrue(descriptors.get("3").startsWith("pipe:"), "its command pipe: " + descriptors);
            assertTrue(descriptors.get("4").startsWith("pipe:") && !descriptors.get("4").equals(descriptors.get("3")),
                    "its exec-status pipe: " + descriptors);
            assertEquals(0, workload.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        } finally {
            launcher.close();
            Native.close(held);
        }
    }

    private static void assertOnlyStandardDescriptorsAndDefaultSignals(long pid) throws Exception {
        Path proc = Path.of("/proc", Long.toString(pid));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(proc.resolve("comm")).strip().equals("sleep") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("sleep", Files.readString(proc.resolve("comm")).strip(), "the command runs");
        // sleep opens its locale's files for a moment as it starts; a descriptor of the core would stay open.
        var descriptors = descriptors(proc);
        while (!descriptors.keySet().equals(Set.of("0", "1", "2")) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            descriptors = descriptors(proc);
        }
        assertEquals(Set.of("0", "1", "2"), descriptors.keySet(), "descriptors " + descriptors);
        assertEquals("/dev/null", descriptors.get("0"));
        assertTrue(descriptors.get("1").startsWith("pipe:") && descriptors.get("2").startsWith("pipe:"), descriptors.toString());
        Map<String, String> status = Files.readAllLines(proc.resolve("status")).stream().filter(line -> line.startsWith("Sig"))
                .collect(Collectors.toMap(line -> line.substring(0, line.indexOf(':')), line -> line.substring(line.indexOf(':') + 1).strip()));
        assertEquals("0000000000000000", status.get("SigBlk"), "no signal blocked");
        assertEquals("0000000000000000", status.get("SigIgn"), "no signal ignored");
    }

    private static Map<String, String> descriptors(Path proc) throws IOException {
        var descriptors = new TreeMap<String, String>();
        try (var entries = Files.list(proc.resolve("fd"))) {
            for (Path entry : entries.toList()) {
                try {
                    descriptors.put(entry.getFileName().toString(), Files.readSymbolicLink(entry).toString());
                } catch (IOException e) {
                    // Closed while we looked.
                }
            }
        }
        return descriptors;
    }
}
