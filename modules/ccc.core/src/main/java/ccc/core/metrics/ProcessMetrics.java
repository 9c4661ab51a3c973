package ccc.core.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;

/** The {@code process} object of {@code /api/metrics}: the watched workload's own figures from {@code /proc/PID}. */
public final class ProcessMetrics {

    private static final double CLOCK_TICKS_PER_SECOND = 100.0;

    private final Path proc;
    private final AtomicReference<CpuSample> previous = new AtomicReference<>();

    public ProcessMetrics(Path proc) {
        this.proc = proc;
    }

    /** The figures of {@code pid}, or {@code {"status": "terminated"}} when it is gone or none runs. */
    public Map<String, Object> read(OptionalLong processId) {
        var json = new LinkedHashMap<String, Object>();
        if (processId.isEmpty()) {
            json.put("status", "terminated");
            return json;
        }
        long pid = processId.getAsLong();
        try {
            String stat = Files.readString(proc.resolve(pid + "/stat"));
            // The command name is in parentheses and may itself hold spaces or parentheses.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            String state = fields[0];
            if (state.equals("Z") || state.equals("X")) {
                json.put("status", "terminated");
                return json;
            }
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            int threads = Integer.parseInt(fields[17]);
            long rssPages = Long.parseLong(Files.readString(proc.resolve(pid + "/statm")).trim().split("\\s+")[1]);
            long now = System.nanoTime();
            CpuSample before = previous.getAndSet(new CpuSample(pid, ticks, now));
            double cpuPercent = 0;
            if (before != null && before.pid == pid && now > before.nanos) {
                cpuPercent = 100.0 * ((ticks - before.ticks) / CLOCK_TICKS_PER_SECOND) / ((now - before.nanos) / 1e9);
            }
            json.put("pid", pid);
            json.put("cpu_percent", SystemMetrics.round(Math.max(0, cpuPercent), 1));
            json.put("memory_mb", SystemMetrics.round(rssPages * 4096 / 1048576.0, 2));
            json.put("threads", threads);
            json.put("status", status(state));
            return json;
        } catch (IOException | RuntimeException e) {
            json.clear();
            json.put("status", "terminated");
            return json;
        }
    }

    private static String status(String state) {
        return switch (state) {
            case "R" -> "running";
            case "S" -> "sleeping";
            case "D" -> "disk-sleep";
            case "T", "t" -> "stopped";
            case "I" -> "idle";
            default -> state;
        };
    }

    private record CpuSample(long pid, long ticks, long nanos) {
    }
}
