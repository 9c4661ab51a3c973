package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ccc.api.Launch;
import ccc.core.Requirements;
import ccc.core.log.Redactor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A container's {@code pids.max} counts the core's threads with the workload's processes, so a
 * workload that forks until it is full can leave a process the core has just spawned with no
 * thread to wait for it. That spawn fails as an {@link IOException} the caller reports, never as a
 * fatal error that would halt the core, and the process is killed and reaped at once rather than
 * left running unwatched. The test's own thread is put in a pids cgroup (v1 moves single threads)
 * with room for exactly one more task: the spawn takes it, the waiting thread finds none.
 */
class NoThreadLeftTest {

    private static final Path PIDS = Path.of("/sys/fs/cgroup/pids");
    private static final Pattern WAITED_FOR = Pattern.compile("no thread could be started for waiting for process (\\d+) \\(unable to create native thread.*");
    /** Attempts before the test gives up: a thread an earlier test's workload frees just then may take the task instead. */
    private static final int ATTEMPTS = 3;

    @Test
    void aProcessNoThreadCanWaitForIsKilledAndReapedAndItsSpawnFails() throws Exception {
        Requirements.require(Files.isWritable(PIDS.resolve("tasks")), "a pids cgroup of a single thread needs root and cgroup v1's pids hierarchy");
        Requirements.require(PosixSpawn.available(), "posix_spawn_file_actions_addclosefrom_np is missing from this C library");
        Path cgroup = Files.createDirectory(PIDS.resolve("ccc-no-thread-left-" + ProcessHandle.current().pid()));
        try {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                var release = new CountDownLatch(1);
                occupyIdleWaitingThreads(release);
                SpawnedProcess started = null;
                IOException failure = null;
                try {
                    moveThisThreadTo(cgroup);
                    Files.writeString(cgroup.resolve("pids.max"), Long.toString(count(cgroup) + 1));
                    started = PosixSpawn.start(List.of("/bin/sleep", "60"), List.of());
                } catch (IOException e) {
                    failure = e;
                } finally {
                    moveThisThreadTo(PIDS);
                    release.countDown();
                }
                if (started != null) {
                    started.destroyForcibly().waitFor();
                    continue;
                }
                Matcher message = WAITED_FOR.matcher(String.valueOf(failure.getMessage()));
                assertTrue(message.matches(), "the spawn failed for want of a waiting thread: " + failure);
                long pid = Long.parseLong(message.group(1));
                assertFalse(Files.exists(Path.of("/proc", Long.toString(pid))), "process " + pid + " was killed and reaped, not left running or a zombie");
                SpawnedProcess afterwards = PosixSpawn.start(List.of("/bin/sleep", "60"), List.of());
                assertTrue(afterwards.isAlive(), "with room again, a spawn is watched as ever");
                afterwards.destroyForcibly();
                assertTrue(afterwards.waitFor(10, TimeUnit.SECONDS));
                return;
            }
            fail("an idle waiting thread took the task in each of " + ATTEMPTS + " attempts");
        } finally {
            moveThisThreadTo(PIDS);
            remove(cgroup);
        }
    }

    @Test
    void aRunWithNoThreadToRunItSaysWhatItWasFor() throws Exception {
        Requirements.require(Files.isWritable(PIDS.resolve("tasks")), "a pids cgroup of a single thread needs root and cgroup v1's pids hierarchy");
        Path cgroup = Files.createDirectory(PIDS.resolve("ccc-no-thread-at-all-" + ProcessHandle.current().pid()));
        var release = new CountDownLatch(1);
        try {
            occupyIdleWaitingThreads(release);
            moveThisThreadTo(cgroup);
            Files.writeString(cgroup.resolve("pids.max"), Long.toString(count(cgroup)));
            var refused = assertThrows(IOException.class, () -> WaitingThreads.run("test-task", "a test's task", () -> { }));
            assertTrue(refused.getMessage().startsWith("no thread could be started for a test's task (unable to create native thread"),
                    refused.getMessage());
        } finally {
            moveThisThreadTo(PIDS);
            release.countDown();
            remove(cgroup);
        }
    }

    @Test
    void aLaunchWhoseOutputNoThreadCanReadFailsAndEndsTheWorkload() throws Exception {
        Requirements.require(Files.isWritable(PIDS.resolve("tasks")), "a pids cgroup of a single thread needs root and cgroup v1's pids hierarchy");
        Requirements.require(PosixSpawn.available(), "posix_spawn_file_actions_addclosefrom_np is missing from this C library");
        Optional<Path> helper = PrivilegeDrop.locateHelper();
        Requirements.require(helper.isPresent(), "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        var launcher = new ProcessLauncher(new PrivilegeDrop(UserDirectory.system(), helper, PrivilegeDrop.currentUid() == 0), Optional.empty(),
                List.of(), new WorkloadOutput(100, new Redactor()), CompletableFuture.completedFuture(null));
        String marker = "9" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
        Path cgroup = Files.createDirectory(PIDS.resolve("ccc-no-output-thread-" + ProcessHandle.current().pid()));
        var release = new CountDownLatch(1);
        try {
            // As in a core whose workload could fill the container: it was launched, so the launcher's thread runs and a helper waits.
            ManagedProcess first = launcher.launch(Launch.of("true"));
            first.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            ProcessLauncher.awaitLauncherThread();
            occupyIdleWaitingThreads(release);
            // No room at all for this thread: the helpers are spawned, and waited for, from the launcher's own thread.
            moveThisThreadTo(cgroup);
            Files.writeString(cgroup.resolve("pids.max"), Long.toString(count(cgroup)));
            var refused = assertThrows(IOException.class, () -> launcher.launch(Launch.of("sh", "-c", "sleep $0 & exec sleep $0", marker)));
            assertTrue(refused.getMessage().startsWith("no thread could be started for reading the workload's stdout (unable to create native thread"),
                    refused.getMessage());
        } finally {
            moveThisThreadTo(PIDS);
            release.countDown();
            launcher.close();
            remove(cgroup);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!withArgument(marker).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of(), withArgument(marker), "the workload and what it started are gone");
    }

    /** Live processes whose command line holds {@code marker} as an argument. */
    private static List<Long> withArgument(String marker) throws IOException {
        try (var entries = Files.list(Path.of("/proc"))) {
            return entries.filter(entry -> entry.getFileName().toString().chars().allMatch(Character::isDigit)).filter(entry -> {
                try {
                    return List.of(Files.readString(entry.resolve("cmdline")).split("\0")).contains(marker)
                            && !Files.readString(entry.resolve("stat")).replaceFirst(".*\\) ", "").startsWith("Z");
                } catch (IOException e) {
                    return false;
                }
            }).map(entry -> Long.parseLong(entry.getFileName().toString())).toList();
        }
    }

    /** Gives every idle waiting thread a task that blocks until {@code release}, so that the next task needs a new thread. */
    private static void occupyIdleWaitingThreads(CountDownLatch release) throws IOException {
        while (WaitingThreads.idleThreads() > 0) {
            WaitingThreads.run("test-blocker", "a test's blocker", () -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    private static void moveThisThreadTo(Path cgroup) throws IOException {
        String thread = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        Files.writeString(cgroup.resolve("tasks"), thread);
    }

    /** Removes {@code cgroup} once whatever a failure left in it has been killed. */
    private static void remove(Path cgroup) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (count(cgroup) > 0 && System.nanoTime() < deadline) {
            for (String pid : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
            Thread.sleep(20);
        }
        Files.delete(cgroup);
    }

    private static long count(Path cgroup) throws IOException {
        return Long.parseLong(Files.readString(cgroup.resolve("pids.current")).strip());
    }
}
