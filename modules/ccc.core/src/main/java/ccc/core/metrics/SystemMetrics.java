package ccc.core.metrics;

import ccc.core.config.CoreConfig;
import ccc.core.log.BackgroundLoop;
import ccc.core.log.Log;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The {@code system}, {@code container} and {@code network} figures of {@code /api/metrics}, for
 * the container: from its cgroup (v2 or v1), falling back to the host's {@code /proc} figures
 * only where no cgroup or no limit applies. CPU use and network rates are measured over a short
 * sliding window kept by a sampler, whose first sample is taken at construction, so even the
 * first request gets a meaningful figure.
 */
public final class SystemMetrics {

    private static final Log LOG = Log.named("metrics");
    private static final Duration SAMPLE_EVERY = Duration.ofSeconds(1);
    private static final long MIN_WINDOW_NANOS = Duration.ofMillis(200).toNanos();
    private static final int SAMPLES_KEPT = 5;

    private final HostReader host;
    private final Optional<Cgroups.Reader> cgroup;
    private final CoreConfig.MetricsSection config;
    private final LongSupplier nanoTime;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();

    public SystemMetrics(HostReader host, Optional<Cgroups.Reader> cgroup, CoreConfig.MetricsSection config) {
        this(host, cgroup, config, System::nanoTime);
    }

    SystemMetrics(HostReader host, Optional<Cgroups.Reader> cgroup, CoreConfig.MetricsSection config, LongSupplier nanoTime) {
        this.host = host;
        this.cgroup = cgroup;
        this.config = config;
        this.nanoTime = nanoTime;
        config.networkInterface().filter(name -> config.networkMonitoring()).ifPresent(this::warnIfMissing);
        remember(takeSample(cgroup.map(Cgroups.Reader::cpuUsageNanos).orElse(-1L)));
    }

    /**
     * Says once when the interface to monitor is not there: its counters then read 0 (and follow
     * it from the moment it appears), which would otherwise pass for an idle network.
     */
    private void warnIfMissing(String name) {
        var present = host.interfaces();
        if (!present.contains(name)) {
            LOG.warn("metrics.network_monitoring.interface names no interface here; its figures read 0 until it appears",
                    "interface", name, "interfaces", String.join(",", present.stream().sorted().toList()));
        }
    }

    /** Keeps sampling CPU use and network counters in the background, so the window stays short however rarely figures are asked for. */
    public SystemMetrics startSampling() {
        var loop = new BackgroundLoop("cpu sampler");
        // Only the CPU counter and the network counters: the sampler needs nothing else, every second.
        Thread.ofVirtual().name("cpu-sampler").start(() -> loop.every(SAMPLE_EVERY,
                () -> remember(takeSample(cgroup.map(Cgroups.Reader::cpuUsageNanos).orElse(-1L)))));
        return this;
    }

    /** A reading of CPU, memory and network. */
    public Reading read() {
        CgroupSample sample = cgroup.map(Cgroups.Reader::read).orElse(null);
        Sample now = takeSample(sample == null ? -1 : sample.cpuUsageNanos());
        Sample before = reference(now);
        remember(now);
        int onlineCpus = host.onlineCpus();
        double allowance = sample != null && sample.cpuQuotaCores() > 0 ? sample.cpuQuotaCores() : onlineCpus;
        double coresUsed = 0;
        if (before != null && now.wallNanos > before.wallNanos && now.cpu.isPresent() && before.cpu.isPresent()) {
            CpuTime cpuNow = now.cpu.get();
            CpuTime cpuBefore = before.cpu.get();
            if (cpuNow.fromCgroup) {
                coresUsed = (double) (cpuNow.busy - cpuBefore.busy) / (now.wallNanos - before.wallNanos);
            } else if (cpuNow.total > cpuBefore.total) {
                coresUsed = onlineCpus * (double) (cpuNow.busy - cpuBefore.busy) / (cpuNow.total - cpuBefore.total);
            }
        }
        coresUsed = Math.max(0, coresUsed);
        NetworkRates rates = NetworkRates.between(before, now);
        var hostMemory = host.memory().orElse(new HostReader.Memory(0, 0));
        long used = sample != null && sample.memoryUsage() >= 0 ? sample.workingSet() : hostMemory.used();
        long limit = sample != null && sample.memoryLimit() > 0 && sample.memoryLimit() < hostMemory.total()
                ? sample.memoryLimit() : hostMemory.total();
        return new Reading(
                Math.min(100, 100 * coresUsed / allowance), coresUsed, allowance,
                used, limit, sample,
                now.network.orElse(null), rates);
    }

    private synchronized Sample reference(Sample now) {
        Sample chosen = null;
        for (Sample point : samples) {
            if (now.wallNanos - point.wallNanos >= MIN_WINDOW_NANOS) {
                chosen = point;
            }
        }
        return chosen != null ? chosen : samples.peekFirst();
    }

    private synchronized void remember(Sample point) {
        samples.addLast(point);
        while (samples.size() > SAMPLES_KEPT) {
            samples.removeFirst();
        }
    }

    /**
     * A sample now: CPU time from the cgroup's usage in nanoseconds, or from the host's
     * {@code /proc/stat} when that is -1; and the network counters when the network is monitored.
     */
    private Sample takeSample(long cgroupUsageNanos) {
        long wall = nanoTime.getAsLong();
        Optional<CpuTime> cpu = cgroupUsageNanos >= 0
                ? Optional.of(new CpuTime(cgroupUsageNanos, 0, true))
                : host.cpu().map(times -> new CpuTime(times.busy(), times.total(), false));
        Optional<HostReader.NetworkCounters> network = config.networkMonitoring()
                ? Optional.of(host.network(config.networkInterface())) : Optional.empty();
        return new Sample(wall, cpu, network);
    }

    /** CPU time and network counters at one moment. */
    private record Sample(long wallNanos, Optional<CpuTime> cpu, Optional<HostReader.NetworkCounters> network) {
    }

    /** Cumulative CPU time: cgroup nanoseconds, or host busy and total clock ticks. */
    private record CpuTime(long busy, long total, boolean fromCgroup) {
    }

    /**
     * Network throughput over the sampling window, in megabits (10^6 bits) per second, the unit
     * of {@code traffic_control}'s bandwidth; zero before a second sample, and unused when the
     * network is not monitored.
     */
    public record NetworkRates(double sentMbps, double receivedMbps) {

        static final NetworkRates NONE = new NetworkRates(0, 0);

        static NetworkRates between(Sample before, Sample now) {
            if (before == null || now.wallNanos <= before.wallNanos || before.network.isEmpty() || now.network.isEmpty()) {
                return NONE;
            }
            double seconds = (now.wallNanos - before.wallNanos) / 1e9;
            var earlier = before.network.get();
            var later = now.network.get();
            // A counter that went down (an interface replaced) gives no rate rather than a negative one.
            return new NetworkRates(
                    Math.max(0, later.bytesSent() - earlier.bytesSent()) * 8 / seconds / 1e6,
                    Math.max(0, later.bytesRecv() - earlier.bytesRecv()) * 8 / seconds / 1e6);
        }
    }

    /**
     * One reading.
     *
     * @param cpuPercent CPU use as a percentage of the allowance
     * @param cpuCoresUsed CPU use in cores
     * @param cpuAllowanceCores the CPU quota, or the online CPUs when there is none
     * @param memoryUsed the working set in bytes
     * @param memoryLimit the cgroup's memory limit, or the host's total
     * @param cgroup the cgroup reading, or null outside any cgroup
     * @param network the network counters, or null when network monitoring is off
     * @param networkRates the network throughput over the sampling window
     */
    public record Reading(double cpuPercent, double cpuCoresUsed, double cpuAllowanceCores,
                          long memoryUsed, long memoryLimit, CgroupSample cgroup,
                          HostReader.NetworkCounters network, NetworkRates networkRates) {

        public double memoryPercent() {
            return memoryLimit == 0 ? 0 : 100.0 * memoryUsed / memoryLimit;
        }

        /** The {@code system} object: the Python core's four keys, rounded as the Python core rounds them, then ours. */
        public Map<String, Object> systemJson() {
            var system = new LinkedHashMap<String, Object>();
            system.put("cpu_percent", round(cpuPercent, 1));
            system.put("memory_percent", round(memoryPercent(), 1));
            system.put("memory_available_mb", round(Math.max(0, memoryLimit - memoryUsed) / 1048576.0, 2));
            system.put("memory_used_mb", round(memoryUsed / 1048576.0, 2));
            system.put("memory_limit_mb", round(memoryLimit / 1048576.0, 2));
            system.put("cpu_cores_used", round(cpuCoresUsed, 3));
            system.put("cpu_limit_cores", round(cpuAllowanceCores, 3));
            system.put("cpu_throttled_periods", cgroup == null || cgroup.throttledPeriods() < 0 ? null : cgroup.throttledPeriods());
            system.put("cpu_throttled_seconds", cgroup == null || cgroup.throttledNanos() < 0 ? null : round(cgroup.throttledNanos() / 1e9, 3));
            system.put("oom_kills", cgroup == null || cgroup.oomKills() < 0 ? null : cgroup.oomKills());
            system.put("pids", cgroup == null || cgroup.pids() < 0 ? null : cgroup.pids());
            system.put("cgroup_version", cgroup == null ? null : cgroup.version());
            return system;
        }

        /**
         * The {@code container} object: the container's CPU and memory percentages, as
         * {@code system} has them, under the names Showrunner's own client configuration reads.
         */
        public Map<String, Object> containerJson() {
            var container = new LinkedHashMap<String, Object>();
            container.put("cpu_percent", round(cpuPercent, 1));
            container.put("memory_percent", round(memoryPercent(), 1));
            return container;
        }

        /** The {@code network} object: the Python core's counters, then the rates over the sampling window. */
        public Map<String, Object> networkJson() {
            var json = new LinkedHashMap<String, Object>();
            json.put("bytes_sent", network.bytesSent());
            json.put("bytes_recv", network.bytesRecv());
            json.put("packets_sent", network.packetsSent());
            json.put("packets_recv", network.packetsRecv());
            json.put("bytes_sent_mbps", round(networkRates.sentMbps(), 3));
            json.put("bytes_received_mbps", round(networkRates.receivedMbps(), 3));
            return json;
        }
    }

    static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}
