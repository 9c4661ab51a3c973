package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * /api/signal never reaches a process that took the number of the workload's reaped main
 * process: an adapter's own process (known by its number alone) is signalled in turn with the
 * transitions, so not during a stop that has reaped it, when another process can hold its number.
 */
class SignalReachesOnlyTheWorkloadTest {

    private static final Path LAST_PID = Path.of("/proc/sys/kernel/ns_last_pid");

    @Test
    void aSignalDuringTheStopsTailNeverReachesAProcessThatTookTheReapedWorkloadsNumber() throws Exception {
        Requirements.require(canSetLastPid(), "writing " + LAST_PID + " (root) to give a reaped number to a bystander");
        var inPostStop = new CountDownLatch(1);
        var release = new CountDownLatch(1);
        var workloadPid = new java.util.concurrent.atomic.AtomicLong();
        // An adapter that runs its workload with ProcessBuilder (Workload.of), as the API's documentation shows: its stop
        // ends and reaps the process; its post_stop hook takes a moment (within hook_timeout_seconds).
        var adapter = new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) throws Exception {
                Workload workload = super.start(payload, context);
                workloadPid.set(workload.pid().orElseThrow());
                return workload;
            }

            @Override
            public void postStop(AdapterContext context) {
                inPostStop.countDown();
                try {
                    release.await(1500, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        String bystanderMarker = Processes.uniqueSleepArgument();
        Process bystander = null;
        try (var core = TestCore.start(adapter, "")) {
            core.post("/api/start", "{}");
            core.awaitPhase("running");
            long number = workloadPid.get();
            Thread.ofVirtual().start(() -> core.post("/api/stop", "{}"));
            assertTrue(inPostStop.await(10, TimeUnit.SECONDS), "the stop reached its post_stop hook");
            assertFalse(Processes.alive(number), "the adapter's stop ended and reaped the workload");
            // The attack: the kernel gives the reaped number to the next process, here a bystander of someone else's.
            bystander = processWithNumber(number, bystanderMarker);
            assertEquals("stopping", core.status().get("phase"));
            var reply = core.post("/api/signal", "{\"signal\": \"KILL\"}");
            release.countDown();
            assertFalse(bystander.waitFor(300, TimeUnit.MILLISECONDS),
                    "/api/signal KILL during the stop killed pid " + number + ", a bystander that took the reaped workload's number"
                            + " (answer " + reply.status() + " " + reply.body() + ")");
            assertEquals(409, reply.status(), reply.body());
            core.awaitPhase("stopped");
        } finally {
            if (bystander != null) {
                bystander.destroyForcibly();
            }
            Processes.killAll(adapter.marker);
            Processes.killAll(bystanderMarker);
        }
    }

    private static boolean canSetLastPid() {
        try {
            Files.writeString(LAST_PID, Files.readString(LAST_PID).strip());
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** Starts {@code setsid sleep marker} as process {@code number}, moving the kernel's pid cursor; retried while others race for it. */
    private static Process processWithNumber(long number, String marker) throws IOException, InterruptedException {
        for (int attempt = 0; attempt < 200; attempt++) {
            Files.writeString(LAST_PID, Long.toString(number - 1));
            Process process = new ProcessBuilder("setsid", "sleep", marker).start();
            if (process.pid() == number) {
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (!Processes.withArgument(marker).contains(number) && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                return process;
            }
            process.destroyForcibly().waitFor();
        }
        throw new AssertionError("no process took number " + number);
    }
}
