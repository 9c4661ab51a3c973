package ccc.image;

import ccc.core.process.ProcessLauncher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What {@code /proc} says, for the image tests: who we are, and which processes live. */
final class ProcTable {

    private ProcTable() {
    }

    /** Whether the tests run as root. */
    static boolean isRoot() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(line -> line.startsWith("Uid:") && line.substring(4).trim().startsWith("0\t"));
    }

    /** Whether the process exists and is not a zombie. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether the process is a zombie. */
    static boolean isZombie(long pid) {
        return Files.exists(Path.of("/proc", Long.toString(pid))) && !alive(pid);
    }

    /** The process's resident memory in KiB. */
    static long rssKib(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(line -> line.startsWith("VmRSS:")).mapToLong(line -> Long.parseLong(line.replaceAll("\\D", ""))).findFirst().orElse(0);
    }

    /** How many file descriptors the process has open. */
    static int openFds(long pid) throws IOException {
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        }
    }

    /** Whether the process is the core's helper started ahead of the next workload ({@code ccc-exec --await-command}). */
    static boolean isWaitingHelper(ProcessHandle process) {
        return process.info().arguments().map(arguments -> List.of(arguments).equals(List.of("--await-command"))).orElse(false);
    }

    /** The process's children but for the helpers it started ahead of its next workloads; at most {@link ProcessLauncher#HELPERS_AHEAD}. */
    static List<ProcessHandle> childrenButTheWaitingHelpers(ProcessHandle process) {
        List<ProcessHandle> children = process.children().toList();
        List<ProcessHandle> waiting = children.stream().filter(ProcTable::isWaitingHelper).toList();
        if (waiting.size() > ProcessLauncher.HELPERS_AHEAD) {
            throw new AssertionError("more than " + ProcessLauncher.HELPERS_AHEAD + " helpers wait for a command: " + waiting);
        }
        return children.stream().filter(child -> !waiting.contains(child)).toList();
    }

    /** The process's children that are zombies. */
    static List<Long> zombieChildren(long pid) {
        return ProcessHandle.of(pid).stream().flatMap(ProcessHandle::children).map(ProcessHandle::pid).filter(ProcTable::isZombie).toList();
    }

    /** The live processes whose command line holds {@code marker} as one argument. */
    static List<Long> withArgument(String marker) throws IOException {
        var pids = new ArrayList<Long>();
        try (var entries = Files.list(Path.of("/proc"))) {
            for (Path entry : entries.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    long pid = Long.parseLong(entry.getFileName().toString());
                    if (List.of(Files.readString(entry.resolve("cmdline")).split("\0")).contains(marker) && alive(pid)) {
                        pids.add(pid);
                    }
                } catch (IOException e) {
                    // Gone while we looked.
                }
            }
        }
        return pids;
    }
}
