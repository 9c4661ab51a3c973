package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Launch;
import ccc.core.log.Redactor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A helper that cannot be started ahead because the virtual machine failed is the core's end, as
 * every such error is: it reaches the fatal error handler, whether the launch, the helper started
 * at once after it, or the refill once launches pause met it. (No thread left to wait for the
 * helper, which a workload can bring about by filling the container's process limit, is no such
 * failure: the helper is killed and its start fails as an IOException, NoThreadLeftTest.) Any
 * other error while refilling ends that refill only: the helpers are replaced after the next launch.
 */
class HelperRefillTest {

    // In the core the default handler is FatalErrors', which kills the workload and halts with 70; here it only records.
    private final CompletableFuture<Throwable> uncaught = new CompletableFuture<>();
    private final Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    private final List<ManagedProcess> workloads = new ArrayList<>();
    // Helpers of launchers earlier tests left to end on their own.
    private final List<Long> before = PosixSpawnTest.helpersWaitingNow();
    private ProcessLauncher launcher;

    HelperRefillTest() {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> uncaught.complete(error));
    }

    @AfterEach
    void endEverything() throws Exception {
        try {
            for (ManagedProcess workload : workloads) {
                workload.signal("KILL");
                workload.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            if (launcher != null) {
                launcher.close();
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    /**
     * A launcher with the default number of helpers ahead and quiet time, whose start number
     * {@code failing} (1: the first launch's own, 2: the one started at once after it because
     * none was left, 3: the refill's first) throws {@code error}.
     */
    private ProcessLauncher launcherFailingAt(int failing, Error error) {
        Assumptions.assumeTrue(PosixSpawn.available(), "posix_spawn_file_actions_addclosefrom_np is missing from this C library");
        Optional<Path> helper = PrivilegeDrop.locateHelper();
        Assumptions.assumeTrue(helper.isPresent(), "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        var starts = new AtomicInteger();
        ProcessLauncher.HelperStart start = path -> {
            if (starts.incrementAndGet() == failing) {
                throw error;
            }
            return ReadyHelper.start(path);
        };
        launcher = new ProcessLauncher(new PrivilegeDrop(UserDirectory.system(), helper, PrivilegeDrop.currentUid() == 0), Optional.empty(),
                List.of(), new WorkloadOutput(100, new Redactor()), CompletableFuture.completedFuture(null), ProcessLauncher.HELPERS_AHEAD,
                ProcessLauncher.REFILL_WHEN_QUIET_FOR, start);
        return launcher;
    }

    private ManagedProcess launch() throws IOException {
        ManagedProcess workload = launcher.launch(Launch.of("sleep", "30"));
        workloads.add(workload);
        return workload;
    }

    /**
     * A failure of the virtual machine itself. (A machine out of threads is not one: a helper
     * that no thread can wait for is killed, and its start fails as an IOException.)
     */
    private static OutOfMemoryError outOfHeap() {
        return new OutOfMemoryError("Java heap space");
    }

    /** A launch, after which helper start number {@code failing} fails with a virtual machine error: the fatal error handler is told. */
    private void assertOutOfHeapAtStartReachesTheHandler(int failing) throws Exception {
        launcherFailingAt(failing, outOfHeap());
        launch();
        Throwable seen = uncaught.get(10, TimeUnit.SECONDS);
        assertTrue(seen instanceof OutOfMemoryError, "the handler got " + seen);
    }

    @Test
    void aVirtualMachineErrorInTheRefillReachesTheFatalErrorHandler() throws Exception {
        assertOutOfHeapAtStartReachesTheHandler(3);
    }

    @Test
    void aVirtualMachineErrorStartingTheHelperForTheNextLaunchReachesTheFatalErrorHandler() throws Exception {
        assertOutOfHeapAtStartReachesTheHandler(2);
    }

    @Test
    void aVirtualMachineErrorStartingTheLaunchsOwnHelperIsThrownAsItself() {
        launcherFailingAt(1, outOfHeap());
        // Not an IOException that the start reports as one more failure: the caller's thread passes it on to the handler.
        assertThrows(OutOfMemoryError.class, this::launch);
    }

    @Test
    void aRefillThatFailedWithAnErrorDoesNotStopHelpersFromBeingReplaced() throws Exception {
        // As the first use of a class whose initialisation failed reports it.
        launcherFailingAt(3, new NoClassDefFoundError("ccc/core/process/PosixSpawn$Calls"));
        ManagedProcess first = launch();
        Thread.sleep(300);
        ManagedProcess second = launch();
        List<Long> waiting = awaitWaitingHelpers(ProcessLauncher.HELPERS_AHEAD, first, second);
        assertEquals(ProcessLauncher.HELPERS_AHEAD, waiting.size(), "helpers waiting once launches paused: " + waiting);
    }

    /** This JVM's children running {@code ccc-exec --await-command} but {@code workloads}, once {@code count} wait or after 10 s. */
    private List<Long> awaitWaitingHelpers(int count, ManagedProcess... workloads) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Long> waiting = newWaitingHelpers(workloads);
        while (waiting.size() != count && System.nanoTime() < deadline) {
            Thread.sleep(10);
            waiting = newWaitingHelpers(workloads);
        }
        return waiting;
    }

    private List<Long> newWaitingHelpers(ManagedProcess... workloads) {
        return waitingHelpers(workloads).stream().filter(pid -> !before.contains(pid)).toList();
    }

    private static List<Long> waitingHelpers(ManagedProcess... workloads) {
        return ProcessHandle.current().children()
                .filter(child -> child.info().arguments().map(arguments -> List.of(arguments).equals(List.of("--await-command"))).orElse(false))
                .map(ProcessHandle::pid)
                .filter(pid -> List.of(workloads).stream().noneMatch(workload -> workload.processId() == pid))
                .toList();
    }
}
