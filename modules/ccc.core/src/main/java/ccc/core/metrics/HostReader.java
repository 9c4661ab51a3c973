package ccc.core.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Reads the kernel's figures from {@code /proc}, under a root directory that tests point at
 * fixture trees.
 */
public final class HostReader {

    private final Path root;
    private final int onlineCpus;

    public HostReader(Path root, int onlineCpus) {
        this.root = root;
        this.onlineCpus = onlineCpus;
    }

    /** The live system. */
    public static HostReader system() {
        return new HostReader(Path.of("/"), Runtime.getRuntime().availableProcessors());
    }

    /** Total and available memory in bytes, from {@code /proc/meminfo}. */
    public Optional<Memory> memory() {
        long total = -1;
        long available = -1;
        for (String line : lines("proc/meminfo")) {
            if (line.startsWith("MemTotal:")) {
                total = kibibytes(line);
            } else if (line.startsWith("MemAvailable:")) {
                available = kibibytes(line);
            }
        }
        return total > 0 && available >= 0 ? Optional.of(new Memory(total, available)) : Optional.empty();
    }

    /** Busy and total CPU time in clock ticks, over all CPUs, from {@code /proc/stat}. */
    public Optional<CpuTimes> cpu() {
        for (String line : lines("proc/stat")) {
            if (line.startsWith("cpu ")) {
                String[] fields = line.trim().split("\\s+");
                long total = 0;
                long idle = 0;
                for (int i = 1; i < fields.length && i <= 8; i++) {
                    long value = Long.parseLong(fields[i]);
                    total += value;
                    if (i == 4 || i == 5) {
                        idle += value;
                    }
                }
                return Optional.of(new CpuTimes(total - idle, total));
            }
        }
        return Optional.empty();
    }

    /**
     * Network counters from {@code /proc/net/dev}: of one interface when named, else of all
     * interfaces but loopback.
     */
    public NetworkCounters network(Optional<String> onlyInterface) {
        long bytesRecv = 0;
        long packetsRecv = 0;
        long bytesSent = 0;
        long packetsSent = 0;
        for (String line : lines("proc/net/dev")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = interfaceOf(line, colon);
            boolean wanted = onlyInterface.map(name::equals).orElse(!name.equals("lo"));
            if (!wanted) {
                continue;
            }
            String[] fields = line.substring(colon + 1).trim().split("\\s+");
            if (fields.length < 10) {
                continue;
            }
            bytesRecv += Long.parseLong(fields[0]);
            packetsRecv += Long.parseLong(fields[1]);
            bytesSent += Long.parseLong(fields[8]);
            packetsSent += Long.parseLong(fields[9]);
        }
        return new NetworkCounters(bytesSent, bytesRecv, packetsSent, packetsRecv);
    }

    /** The names of the interfaces {@code /proc/net/dev} lists. */
    public List<String> interfaces() {
        var names = new java.util.ArrayList<String>();
        for (String line : lines("proc/net/dev")) {
            int colon = line.indexOf(':');
            if (colon >= 0) {
                names.add(interfaceOf(line, colon));
            }
        }
        return names;
    }

    /** The interface a line of {@code /proc/net/dev} is about: what comes before its colon. */
    private static String interfaceOf(String line, int colon) {
        return line.substring(0, colon).trim();
    }

    /** The CPUs this process may run on (the JVM honours the container's CPU set). */
    public int onlineCpus() {
        return onlineCpus;
    }

    private List<String> lines(String relative) {
        try {
            return Files.readAllLines(root.resolve(relative));
        } catch (IOException e) {
            return List.of();
        }
    }

    private static long kibibytes(String line) {
        String[] fields = line.trim().split("\\s+");
        return Long.parseLong(fields[1]) * 1024;
    }

    /** Memory in bytes. */
    public record Memory(long total, long available) {
        public long used() {
            return total - available;
        }
    }

    /** Cumulative CPU time in clock ticks. */
    public record CpuTimes(long busy, long total) {
    }

    /** Cumulative network counters. */
    public record NetworkCounters(long bytesSent, long bytesRecv, long packetsSent, long packetsRecv) {
    }
}
