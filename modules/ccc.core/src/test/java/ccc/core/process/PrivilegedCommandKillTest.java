package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Launch;
import ccc.core.Requirements;
import ccc.core.log.Redactor;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A privileged command that outlives its timeout is killed with what it started
 * ({@link ProcessTree#kill(long)}), and with nothing else: not the workload that runs meanwhile
 * (a live update reshapes traffic with {@code tc} while it runs). Every child of the launcher's
 * thread counts as the workload's, so a kill of any one tree that takes them in ends the workload.
 */
class PrivilegedCommandKillTest {

    @Test
    void aPrivilegedCommandThatTimesOutLeavesTheRunningWorkloadAlone() throws Exception {
        Optional<java.nio.file.Path> helper = PrivilegeDrop.locateHelper();
        Requirements.require(helper.isPresent(), "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        var launcher = new ProcessLauncher(new PrivilegeDrop(UserDirectory.system(), helper, PrivilegeDrop.currentUid() == 0), Optional.empty(),
                List.of(), new WorkloadOutput(100, new Redactor()), CompletableFuture.completedFuture(null));
        ManagedProcess workload = launcher.launch(Launch.of("sleep", "30"));
        try {
            assertTrue(workload.isAlive(), "the workload runs");
            assertThrows(PrivilegedCommands.CommandFailedException.class,
                    () -> PrivilegedCommands.run(List.of("sleep", "30"), Duration.ofMillis(300)));
            // The kill is done when run returns; a moment for the workload's exit to be seen, should it have been hit.
            Thread.sleep(200);
            assertTrue(workload.isAlive(), "the workload " + workload.processId() + " was killed with a privileged command that timed out");
        } finally {
            workload.signal(ccc.core.os.Signals.KILL);
            workload.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            launcher.close();
        }
    }
}
