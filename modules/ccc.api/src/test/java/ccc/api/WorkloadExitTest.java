package ccc.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A process workload's exit is reported by a thread of its own. The JDK's {@code onExit()} runs
 * on the common fork-join pool, whose worker its own exit handling can hold (it waits until the
 * output pipes close, which a grandchild can put off for ever); an exit watched that way waits
 * behind it.
 */
class WorkloadExitTest {

    @Test
    void anExitIsReportedWhileTheCommonPoolIsBusy() throws Exception {
        var release = new CountDownLatch(1);
        var busy = new CountDownLatch(ForkJoinPool.getCommonPoolParallelism());
        var blockers = new ArrayList<java.util.concurrent.Future<?>>();
        for (int i = 0; i < ForkJoinPool.getCommonPoolParallelism(); i++) {
            blockers.add(ForkJoinPool.commonPool().submit(() -> {
                busy.countDown();
                release.await();
                return null;
            }));
        }
        try {
            busy.await(10, TimeUnit.SECONDS);
            Process process = new ProcessBuilder("sh", "-c", "exit 3").start();
            int code = Workload.of(process).exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(3, code);
        } finally {
            release.countDown();
        }
        for (var blocker : blockers) {
            blocker.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aProcessKilledBySignalNEndsWith128PlusN() throws Exception {
        Process process = new ProcessBuilder("sleep", "60").start();
        var exit = Workload.of(process).exit().toCompletableFuture();
        process.destroyForcibly();
        assertEquals(137, exit.get(10, TimeUnit.SECONDS));
    }
}
