package ccc.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/** What {@code /proc} says about test workloads, found by a unique argument on their command line. */
final class Processes {

    private Processes() {
    }

    /** A unique {@code sleep} duration that marks one test's workloads: long, and never repeated. */
    static String uniqueSleepArgument() {
        return "9" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + "." + ThreadLocalRandom.current().nextInt(100, 999);
    }

    /** The pids of live (not zombie) processes whose command line holds {@code marker} as one argument. */
    static List<Long> withArgument(String marker) {
        var pids = new ArrayList<Long>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmdline = new String(Files.readAllBytes(entry.resolve("cmdline")), StandardCharsets.UTF_8);
                    if (List.of(cmdline.split("\0")).contains(marker) && !isZombie(entry)) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // The process ended while we looked.
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return pids;
    }

    /**
     * {@link #withArgument} once it is {@code expected}, or as it is after five seconds: a workload
     * reported running may not have exec'd its command yet (its command line is still the
     * launcher's), and one stopped may not have been reaped yet.
     */
    static List<Long> settledWithArgument(String marker, List<Long> expected) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<Long> seen = withArgument(marker);
        while (!seen.equals(expected) && System.nanoTime() < deadline) {
            TestCore.sleep(10);
            seen = withArgument(marker);
        }
        return seen;
    }

    /**
     * Waits until {@code pid} runs {@code program} (its {@code comm}), for at most ten seconds: an
     * adapter's process may still be the helper that execs the command when the core says running.
     */
    static void awaitProgram(long pid, String program) {
        Path comm = Path.of("/proc", Long.toString(pid), "comm");
        long deadline = System.nanoTime() + 10_000_000_000L;
        String seen = "";
        while (System.nanoTime() < deadline) {
            try {
                seen = Files.readString(comm).strip();
            } catch (IOException e) {
                throw new AssertionError("process " + pid + " ended before it ran " + program, e);
            }
            if (seen.equals(program)) {
                return;
            }
            TestCore.sleep(10);
        }
        throw new AssertionError("process " + pid + " still runs " + seen + ", not " + program + ", after ten seconds");
    }

    static boolean isZombie(Path procEntry) throws IOException {
        String stat = Files.readString(procEntry.resolve("stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    }

    static boolean alive(long pid) {
        Path entry = Path.of("/proc", Long.toString(pid));
        try {
            return Files.exists(entry) && !isZombie(entry);
        } catch (IOException e) {
            return false;
        }
    }

    /** Kills whatever a failed test left behind. */
    static void killAll(String marker) {
        withArgument(marker).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
}
