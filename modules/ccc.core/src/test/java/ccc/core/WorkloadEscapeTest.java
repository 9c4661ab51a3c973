package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A workload's processes cannot escape the core: not by double-forking into a session of their
 * own before the main process exits, not by hopping from pid to pid faster than a stop looks, not
 * by numbers (a thousand children end within the stop timeout), and the zombies a hopper leaves
 * behind are reaped as fast as it makes them. Every process here is real, under a real core.
 */
class WorkloadEscapeTest {

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(2);
    // A stop of a tree of any size ends within its stop timeout and the freeze before the kill; this is generous.
    private static final Duration STOP_BOUND = STOP_TIMEOUT.plusSeconds(10);
    private static final int SLEEPERS = 1000;
    // Zombies of the core on average while hoppers exit hundreds of times a second: a handful, never a pile (a
    // reaper that took one zombie per wake left over a hundred on average and hundreds at peaks). The average, not the
    // peak, since a loaded machine can hold the reaper off the processor for a moment.
    private static final double ZOMBIES_ON_AVERAGE_AT_MOST = 32;

    /**
     * A pid-hopper: ignores SIGTERM and SIGHUP, and forever forks, lets the parent exit at once,
     * starts a session in the child and waits 2 ms, so that its number changes every 2 ms and it
     * is never a child of the process that started it for long.
     */
    private static final String HOPPER_SOURCE = """
            #include <signal.h>
            #include <unistd.h>
            int main(void) {
                signal(SIGTERM, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                for (;;) {
                    pid_t child = fork();
                    if (child > 0) {
                        _exit(0);
                    }
                    if (child == 0) {
                        setsid();
                    }
                    usleep(2000);
                }
            }
            """;

    private static Path hopper;
    // Starts as many sleep children as its first argument says, each with its second argument, and waits for them.
    private static Path sleepers;

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @BeforeAll
    static void compileHopper() throws Exception {
        boolean gcc = List.of(System.getenv("PATH").split(":")).stream().anyMatch(dir -> Files.isExecutable(Path.of(dir, "gcc")));
        Requirements.require(gcc, "gcc compiles the pid-hopper");
        Path directory = Files.createTempDirectory("ccc-hopper");
        Path source = Files.writeString(directory.resolve("hopper.c"), HOPPER_SOURCE);
        hopper = directory.resolve("hopper");
        Process compiler = new ProcessBuilder("gcc", "-O2", "-o", hopper.toString(), source.toString()).inheritIO().start();
        assertEquals(0, compiler.waitFor(), "gcc failed");
        sleepers = Files.writeString(directory.resolve("sleepers.sh"),
                "n=0; while [ $n -lt $1 ]; do sleep $2 & n=$((n+1)); done; echo spawned; wait\n");
        sleepers.toFile().deleteOnExit();
        hopper.toFile().deleteOnExit();
        source.toFile().deleteOnExit();
        directory.toFile().deleteOnExit();
    }

    @AfterEach
    void cleanUp() {
        if (core != null) {
            core.close();
        }
        // Whatever a failed test left; a hopper that escaped is stopped first so that it cannot hop away from the kill.
        for (int round = 0; round < 50 && !Processes.withArgument(marker).isEmpty(); round++) {
            Processes.withArgument(marker).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    private void startCore(String... command) throws Exception {
        var quoted = new StringBuilder("[");
        for (String item : command) {
            quoted.append(quoted.length() > 1 ? ", " : "").append('\'').append(item.replace("'", "''")).append('\'');
        }
        core = TestCore.start(null, "process_management:\n  enabled: true\n  stop_timeout_seconds: " + STOP_TIMEOUT.toSeconds()
                + "\n  command: " + quoted + "]\n");
    }

    /** Fails unless no live process carries the marker, looked at again and again for half a second, so a hopper cannot slip between looks. */
    private void assertNoneSurvives(String when) {
        long until = System.nanoTime() + Duration.ofMillis(500).toNanos();
        while (System.nanoTime() < until) {
            List<Long> survivors = Processes.withArgument(marker);
            assertTrue(survivors.isEmpty(), () -> when + ": processes of the workload survived: " + survivors.stream().map(pid -> {
                try {
                    return Files.readString(Path.of("/proc", Long.toString(pid), "stat")).trim();
                } catch (IOException e) {
                    return pid + " (gone)";
                }
            }).toList() + "; this JVM is " + ProcessHandle.current().pid());
        }
    }

    /** Waits until none of the marked processes is alive, for at most {@code within}, then checks that none comes back. */
    private void awaitNoneAlive(String when, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Processes.withArgument(marker).isEmpty() && System.nanoTime() < deadline) {
            TestCore.sleep(20);
        }
        assertNoneSurvives(when);
    }

    @Test
    void aSessionLeaderLeftBehindByAMainThatExitedIsKilled() throws Exception {
        startCore("sh", "-c", "(setsid sleep " + marker + " </dev/null >/dev/null 2>&1 &); sleep " + marker
                + " </dev/null >/dev/null 2>&1 & echo bye; exit 0");
        for (int attempt = 1; attempt <= 3; attempt++) {
            core.post("/api/start", "{}");
            core.awaitStatus(status -> "exited".equals(status.get("phase")), Duration.ofSeconds(15));
            awaitNoneAlive("attempt " + attempt + ", after the main process exited", Duration.ofSeconds(5));
        }
    }

    @Test
    void aHopperThatIsTheMainProcessIsKilledWhenTheMainExits() throws Exception {
        // The hopper's first fork ends the main process: the workload has exited, the hopper hops on as an orphan.
        startCore(hopper.toString(), marker);
        core.post("/api/start", "{}");
        core.awaitStatus(status -> "exited".equals(status.get("phase")), Duration.ofSeconds(15));
        awaitNoneAlive("after the main process exited", Duration.ofSeconds(5));
    }

    @Test
    void aHopperBesideARunningMainDiesWithTheStopAndNotBesideTheNextStart() throws Exception {
        startCore("sh", "-c", hopper + " " + marker + " & while :; do sleep 0.2; done");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitHopping();
        long began = System.nanoTime();
        core.post("/api/stop", "{}");
        core.awaitStatus(status -> "stopped".equals(status.get("phase")), STOP_BOUND);
        System.out.printf("stop of a pid-hopper that ignores SIGTERM: %d ms%n", (System.nanoTime() - began) / 1_000_000);
        assertNoneSurvives("after /api/stop");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitHopping();
        core.post("/api/stop", "{\"force\": true}");
        core.awaitStatus(status -> "stopped".equals(status.get("phase")), STOP_BOUND);
        assertNoneSurvives("after a forced stop");
    }

    @Test
    void zombiesOfHoppersAreReapedAsFastAsTheyAppear() throws Exception {
        // Three hoppers, each leaving an exited parent behind every 2 ms or so: hundreds of orphans' exits a second.
        startCore("sh", "-c", "for i in 1 2 3; do " + hopper + " " + marker + " & done; while :; do sleep 0.2; done");
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        awaitHopping();
        int most = 0;
        var samples = new ArrayList<Integer>();
        long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < until) {
            int zombies = zombieChildrenOfThisProcess();
            samples.add(zombies);
            most = Math.max(most, zombies);
            TestCore.sleep(10);
        }
        double mean = samples.stream().mapToInt(Integer::intValue).average().orElse(0);
        System.out.printf("zombie children of the core over 3 s of three pid-hoppers: at most %d, mean %.1f, %d samples%n", most,
                mean, samples.size());
        assertTrue(mean <= ZOMBIES_ON_AVERAGE_AT_MOST, "zombies piled up: " + mean + " on average, at most " + most);
        core.post("/api/stop", "{}");
        core.awaitStatus(status -> "stopped".equals(status.get("phase")), STOP_BOUND);
        assertNoneSurvives("after /api/stop");
    }

    @Test
    void aThousandChildrenEndWithinTheStopTimeout() throws Exception {
        startCore("sh", sleepers.toString(), Integer.toString(SLEEPERS), marker);
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Processes.withArgument(marker).size() < SLEEPERS) {
            assertTrue(System.nanoTime() < deadline, "only " + Processes.withArgument(marker).size() + " children started");
            TestCore.sleep(100);
        }
        long began = System.nanoTime();
        core.post("/api/stop", "{}");
        Map<String, Object> stopped = core.awaitStatus(status -> "stopped".equals(status.get("phase")), STOP_BOUND);
        long tookMs = (System.nanoTime() - began) / 1_000_000;
        System.out.printf("stop of a workload with %d sleep children: %d ms%n", SLEEPERS, tookMs);
        assertEquals("stopped", stopped.get("phase"));
        assertNoneSurvives("after /api/stop");
    }

    /** Waits until a hopper has hopped at least once: a marked process whose parent is this JVM, the core that adopted it. */
    private void awaitHopping() {
        long self = ProcessHandle.current().pid();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Processes.withArgument(marker).stream()
                .noneMatch(pid -> ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L) == self)) {
            assertTrue(System.nanoTime() < deadline, "the hopper never hopped");
            TestCore.sleep(10);
        }
    }

    /** How many children of this process are zombies now, from the kernel's child lists of its threads. */
    private static int zombieChildrenOfThisProcess() throws IOException {
        int zombies = 0;
        try (var threads = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path thread : threads) {
                String children;
                try {
                    children = Files.readString(thread.resolve("children"));
                } catch (IOException e) {
                    continue;
                }
                for (String child : children.trim().split(" ")) {
                    try {
                        if (!child.isEmpty() && Processes.isZombie(Path.of("/proc", child))) {
                            zombies++;
                        }
                    } catch (IOException e) {
                        // Reaped meanwhile.
                    }
                }
            }
        } catch (IOException e) {
            // A thread or child gone meanwhile.
        }
        return zombies;
    }
}
