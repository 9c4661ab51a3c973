package ccc.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Launch;
import ccc.core.log.Redactor;
import ccc.core.process.ManagedProcess;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.ProcessLauncher;
import ccc.core.process.WorkloadOutput;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Workloads die with the core (the helper asks the kernel for SIGKILL when their parent ends),
 * and the kernel counts the thread that forked as the parent: a workload must outlive the
 * short-lived thread that asked for its launch.
 */
class LaunchThreadTest {

    private final String marker = Processes.uniqueSleepArgument();

    @AfterEach
    void cleanUp() {
        Processes.killAll(marker);
    }

    @Test
    void aWorkloadOutlivesTheThreadThatLaunchedIt() throws Exception {
        Requirements.require(PrivilegeDrop.system().helper().isPresent(), "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        var launcher = new ProcessLauncher(PrivilegeDrop.system(), Optional.empty(), List.of(),
                new WorkloadOutput(100, new Redactor()), CompletableFuture.completedFuture(null));
        var launched = new AtomicReference<ManagedProcess>();
        var failure = new AtomicReference<Exception>();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                launched.set(launcher.launch(Launch.of("sleep", marker)));
            } catch (Exception e) {
                failure.set(e);
            }
        });
        caller.join();
        assertTrue(failure.get() == null, () -> "launch failed: " + failure.get());
        long pid = launched.get().processId();

        TestCore.sleep(2000);
        assertTrue(Processes.alive(pid), "the workload still runs 2 s after the launching thread ended");
        launched.get().signal("KILL");
        launcher.close();
    }
}
