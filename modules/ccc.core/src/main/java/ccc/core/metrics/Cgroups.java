package ccc.core.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Finds this process's cgroup, v2 or v1 (including hybrid hosts that mount both), from
 * {@code /proc/self/cgroup} and {@code /proc/self/mountinfo}, and reads its figures. Every path
 * is resolved under a root directory, so tests point it at fixture trees.
 */
public final class Cgroups {

    private Cgroups() {
    }

    /** A reader of one cgroup. */
    public interface Reader {
        CgroupSample read();

        /** The CPU time used, alone, for sampling often: -1 when the hierarchy does not offer it. */
        default long cpuUsageNanos() {
            return read().cpuUsageNanos();
        }
    }

    /** The live system's cgroup, if any is mounted. */
    public static Optional<Reader> system() {
        return detect(Path.of("/"));
    }

    /** The cgroup of the process whose {@code proc/self} lies under {@code root}. */
    public static Optional<Reader> detect(Path root) {
        List<String> membership = lines(root.resolve("proc/self/cgroup"));
        List<String> mounts = lines(root.resolve("proc/self/mountinfo"));
        var v1Paths = new HashMap<String, String>();
        String v2Path = null;
        for (String line : membership) {
            String[] fields = line.split(":", 3);
            if (fields.length < 3) {
                continue;
            }
            if (fields[0].equals("0") && fields[1].isEmpty()) {
                v2Path = fields[2];
            } else {
                for (String controller : fields[1].split(",")) {
                    v1Paths.put(controller, fields[2]);
                }
            }
        }
        var v1Mounts = new HashMap<String, Mount>();
        Mount v2Mount = null;
        for (String line : mounts) {
            Mount mount = Mount.parse(line);
            if (mount == null) {
                continue;
            }
            if (mount.type.equals("cgroup2")) {
                v2Mount = mount;
            } else if (mount.type.equals("cgroup")) {
                for (String option : mount.superOptions.split(",")) {
                    v1Mounts.put(option, mount);
                }
            }
        }
        // A v1 memory controller wins on hybrid hosts: there the v2 hierarchy has no controllers.
        if (v1Mounts.containsKey("memory") && v1Paths.containsKey("memory")) {
            return Optional.of(new V1(
                    directory(root, v1Mounts.get("cpu"), v1Paths.get("cpu")),
                    directory(root, v1Mounts.get("cpuacct"), v1Paths.get("cpuacct")),
                    directory(root, v1Mounts.get("memory"), v1Paths.get("memory")),
                    directory(root, v1Mounts.get("pids"), v1Paths.get("pids"))));
        }
        if (v2Mount != null && v2Path != null) {
            return Optional.of(new V2(directory(root, v2Mount, v2Path)));
        }
        return Optional.empty();
    }

    /**
     * The directory of cgroup {@code path} on {@code mount}. Inside a container the mount's root
     * is often the container's own cgroup, and the path either repeats it or is just "/".
     */
    private static Path directory(Path root, Mount mount, String path) {
        if (mount == null || path == null) {
            return null;
        }
        String relative;
        if (mount.root.equals("/")) {
            relative = path;
        } else if (path.equals(mount.root) || path.startsWith(mount.root + "/")) {
            relative = path.substring(mount.root.length());
        } else {
            relative = "/";
        }
        Path base = root.resolve(mount.point.substring(1));
        Path dir = relative.equals("/") || relative.isEmpty() ? base : base.resolve(relative.substring(1));
        // With a private cgroup namespace the path can name a directory that this mount does not show.
        return Files.isDirectory(dir) ? dir : base;
    }

    private record Mount(String root, String point, String type, String superOptions) {
        static Mount parse(String line) {
            String[] halves = line.split(" - ", 2);
            if (halves.length < 2) {
                return null;
            }
            String[] left = halves[0].split(" ");
            String[] right = halves[1].split(" ");
            if (left.length < 5 || right.length < 3) {
                return null;
            }
            return new Mount(unescape(left[3]), unescape(left[4]), right[0], right[2]);
        }

        private static String unescape(String text) {
            return text.replace("\\040", " ");
        }
    }

    /** cgroup v2: one unified hierarchy. */
    static final class V2 implements Reader {
        private final Path dir;

        V2(Path dir) {
            this.dir = dir;
        }

        @Override
        public long cpuUsageNanos() {
            Long micros = keyed(dir.resolve("cpu.stat")).get("usage_usec");
            return micros == null ? -1 : micros * 1000;
        }

        @Override
        public CgroupSample read() {
            Map<String, Long> cpu = keyed(dir.resolve("cpu.stat"));
            Map<String, Long> memory = keyed(dir.resolve("memory.stat"));
            Map<String, Long> events = keyed(dir.resolve("memory.events"));
            double quota = 0;
            String[] max = first(dir.resolve("cpu.max")).split("\\s+");
            if (max.length == 2 && !max[0].equals("max")) {
                quota = Double.parseDouble(max[0]) / Double.parseDouble(max[1]);
            }
            return new CgroupSample(2,
                    cpu.containsKey("usage_usec") ? cpu.get("usage_usec") * 1000 : -1,
                    quota,
                    cpu.getOrDefault("nr_throttled", -1L),
                    cpu.containsKey("throttled_usec") ? cpu.get("throttled_usec") * 1000 : -1,
                    number(dir.resolve("memory.current")).orElse(-1),
                    number(dir.resolve("memory.max")).orElse(0),
                    memory.getOrDefault("inactive_file", -1L),
                    events.getOrDefault("oom_kill", -1L),
                    number(dir.resolve("pids.current")).orElse(-1));
        }
    }

    /** cgroup v1: one hierarchy per controller. */
    static final class V1 implements Reader {
        private static final long NO_LIMIT = 1L << 62;
        private final Path cpu;
        private final Path cpuacct;
        private final Path memory;
        private final Path pids;

        V1(Path cpu, Path cpuacct, Path memory, Path pids) {
            this.cpu = cpu;
            this.cpuacct = cpuacct != null ? cpuacct : cpu;
            this.memory = memory;
            this.pids = pids;
        }

        @Override
        public long cpuUsageNanos() {
            return cpuacct == null ? -1 : number(cpuacct.resolve("cpuacct.usage")).orElse(-1);
        }

        @Override
        public CgroupSample read() {
            Map<String, Long> cpuStat = cpu == null ? Map.of() : keyed(cpu.resolve("cpu.stat"));
            Map<String, Long> memoryStat = keyed(memory.resolve("memory.stat"));
            Map<String, Long> oom = keyed(memory.resolve("memory.oom_control"));
            double quota = 0;
            if (cpu != null) {
                long quotaMicros = number(cpu.resolve("cpu.cfs_quota_us")).orElse(-1);
                long periodMicros = number(cpu.resolve("cpu.cfs_period_us")).orElse(-1);
                if (quotaMicros > 0 && periodMicros > 0) {
                    quota = (double) quotaMicros / periodMicros;
                }
            }
            long limit = number(memory.resolve("memory.limit_in_bytes")).orElse(0);
            // Hierarchical figures include child cgroups, such as those of a workload the core started.
            long inactive = memoryStat.getOrDefault("total_inactive_file", memoryStat.getOrDefault("inactive_file", -1L));
            return new CgroupSample(1,
                    cpuacct == null ? -1 : number(cpuacct.resolve("cpuacct.usage")).orElse(-1),
                    quota,
                    cpuStat.getOrDefault("nr_throttled", -1L),
                    cpuStat.getOrDefault("throttled_time", -1L),
                    number(memory.resolve("memory.usage_in_bytes")).orElse(-1),
                    limit >= NO_LIMIT ? 0 : limit,
                    inactive,
                    oom.getOrDefault("oom_kill", -1L),
                    pids == null ? -1 : number(pids.resolve("pids.current")).orElse(-1));
        }
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String first(Path file) {
        List<String> lines = lines(file);
        return lines.isEmpty() ? "" : lines.getFirst().trim();
    }

    /** A file holding one number; "max" reads as empty. */
    private static OptionalLong number(Path file) {
        String text = first(file);
        try {
            return text.isEmpty() || text.equals("max") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** A file of "key value" lines. */
    private static Map<String, Long> keyed(Path file) {
        var values = new HashMap<String, Long>();
        for (String line : lines(file)) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2) {
                try {
                    values.put(fields[0], Long.parseLong(fields[1]));
                } catch (NumberFormatException ignored) {
                    // Not a number: not a figure we read.
                }
            }
        }
        return values;
    }
}
