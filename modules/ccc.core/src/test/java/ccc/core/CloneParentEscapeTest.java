package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A workload's main process can make a child that is not its own: {@code clone(CLONE_PARENT)}
 * gives the new process the caller's parent, which for the main process is the core's launching
 * thread. Such a sibling is neither a descendant of the main process nor an orphan the core
 * adopted (it is never orphaned), so it must still count as the workload's: it may not survive a
 * stop, a forced stop, nor the main process's own exit, and its zombie must be reaped.
 */
class CloneParentEscapeTest {

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration STOP_BOUND = STOP_TIMEOUT.plusSeconds(10);

    /**
     * {@code cloner PIDFILE WAIT ARG}: clones a sibling (CLONE_PARENT) that starts a session of its
     * own, ignores SIGTERM and execs {@code sleep ARG} (or exits at once when ARG is {@code exit}),
     * writes the sibling's pid to PIDFILE, then pauses (WAIT {@code pause}) or exits 0.
     */
    private static final String CLONER_SOURCE = """
            #define _GNU_SOURCE
            #include <sched.h>
            #include <signal.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
                if (pid == 0) {
                    setsid();
                    signal(SIGTERM, SIG_IGN);
                    if (strcmp(argv[3], "exit") == 0) {
                        _exit(0);
                    }
                    execlp("sleep", "sleep", argv[3], (char *) 0);
                    _exit(1);
                }
                FILE *out = fopen(argv[1], "w");
                fprintf(out, "%ld\\n", pid);
                fclose(out);
                if (strcmp(argv[2], "pause") == 0) {
                    pause();
                }
                return 0;
            }
            """;

    private static Path cloner;
    private static Path directory;

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;
    private Path pidFile;

    @BeforeAll
    static void compileCloner() throws Exception {
        boolean gcc = List.of(System.getenv("PATH").split(":")).stream().anyMatch(dir -> Files.isExecutable(Path.of(dir, "gcc")));
        Requirements.require(gcc, "gcc compiles the CLONE_PARENT cloner");
        directory = Files.createTempDirectory("ccc-cloner");
        Path source = Files.writeString(directory.resolve("cloner.c"), CLONER_SOURCE);
        cloner = directory.resolve("cloner");
        Process compiler = new ProcessBuilder("gcc", "-O2", "-o", cloner.toString(), source.toString()).inheritIO().start();
        assertEquals(0, compiler.waitFor(), "gcc failed");
        cloner.toFile().deleteOnExit();
        source.toFile().deleteOnExit();
        directory.toFile().deleteOnExit();
    }

    @AfterEach
    void cleanUp() throws IOException {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
        if (pidFile != null) {
            Files.deleteIfExists(pidFile);
        }
    }

    private void startCore(String wait, String sibling) throws Exception {
        pidFile = directory.resolve("sibling-" + marker + ".pid");
        core = TestCore.start(null, "process_management:\n  enabled: true\n  stop_timeout_seconds: " + STOP_TIMEOUT.toSeconds()
                + "\n  command: ['" + cloner + "', '" + pidFile + "', '" + wait + "', '" + sibling + "']\n");
    }

    private long siblingPid() {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                String text = Files.readString(pidFile).strip();
                if (!text.isEmpty()) {
                    return Long.parseLong(text);
                }
            } catch (IOException e) {
                // Not written yet.
            }
            TestCore.sleep(10);
        }
        throw new AssertionError("the cloner wrote no pid to " + pidFile);
    }

    private void awaitNoneAlive(String when, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Processes.withArgument(marker).isEmpty() && System.nanoTime() < deadline) {
            TestCore.sleep(20);
        }
        List<Long> survivors = Processes.withArgument(marker);
        assertTrue(survivors.isEmpty(), () -> when + ": the main process's CLONE_PARENT sibling survived: " + survivors);
    }

    @Test
    void aSiblingClonedByTheMainProcessDiesWithTheStop() throws Exception {
        assertTheSiblingDiesWith("{}", "after a graceful stop");
    }

    @Test
    void aSiblingClonedByTheMainProcessDiesWithAForcedStop() throws Exception {
        assertTheSiblingDiesWith("{\"force\": true}", "after a forced stop");
    }

    /** Starts a main process that clones a sibling and pauses, then stops it with {@code stopBody}: the sibling ends too. */
    private void assertTheSiblingDiesWith(String stopBody, String when) throws Exception {
        startCore("pause", marker);
        core.post("/api/start", "{}");
        core.awaitStatus(status -> "running".equals(status.get("phase")), Duration.ofSeconds(15));
        long sibling = siblingPid();
        assertTrue(Processes.alive(sibling), "the sibling runs before the stop");
        core.post("/api/stop", stopBody);
        core.awaitStatus(status -> "stopped".equals(status.get("phase")), STOP_BOUND);
        awaitNoneAlive(when, Duration.ofSeconds(2));
    }

    @Test
    void aSiblingClonedByAMainThatExitedIsKilled() throws Exception {
        startCore("exit", marker);
        core.post("/api/start", "{}");
        core.awaitStatus(status -> "exited".equals(status.get("phase")), Duration.ofSeconds(15));
        siblingPid();
        // As a (setsid sleep &) left behind is (WorkloadEscapeTest): killed at once when the main process exits.
        awaitNoneAlive("after the main process exited on its own", Duration.ofSeconds(5));
        // And certainly by the next start's sweep, or a stop with nothing running.
        core.post("/api/stop", "{}");
        awaitNoneAlive("after a stop with nothing running", Duration.ofSeconds(2));
    }

    @Test
    void theZombieOfASiblingClonedByTheMainProcessIsReaped() throws Exception {
        startCore("pause", "exit");
        core.post("/api/start", "{}");
        core.awaitStatus(status -> "running".equals(status.get("phase")), Duration.ofSeconds(15));
        long sibling = siblingPid();
        // Orphans' zombies live 100 ms at most, and one in the core's own session about 2 s (ReaperTest); this one is in
        // a session of its own.
        Path entry = Path.of("/proc", Long.toString(sibling));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (Files.exists(entry) && System.nanoTime() < deadline) {
            TestCore.sleep(20);
        }
        assertFalse(Files.exists(entry), () -> "the sibling " + sibling + " is still a zombie of the core 5 s after it exited");
        core.post("/api/stop", "{\"force\": true}");
    }
}
