package ccc.core.metrics;

import ccc.core.config.CoreConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@code system} and {@code network} figures of {@code /api/metrics}. CPU use is measured
 * against the previous reading, and the first reading is taken at construction, so even the
 * first request gets a meaningful figure.
 */
public final class SystemMetrics {

    private final HostReader host;
    private final CoreConfig.Metrics config;
    private final AtomicReference<HostReader.CpuTimes> previousCpu;

    public SystemMetrics(HostReader host, CoreConfig.Metrics config) {
        this.host = host;
        this.config = config;
        this.previousCpu = new AtomicReference<>(host.cpu().orElse(null));
    }

    /** A reading of CPU, memory and network. */
    public Reading read() {
        HostReader.CpuTimes now = host.cpu().orElse(null);
        HostReader.CpuTimes before = previousCpu.getAndSet(now);
        double cpuPercent = 0;
        if (now != null && before != null && now.total() > before.total()) {
            cpuPercent = 100.0 * (now.busy() - before.busy()) / (now.total() - before.total());
        }
        var memory = host.memory().orElse(new HostReader.Memory(0, 0));
        var network = config.networkMonitoring() ? host.network(config.networkInterface()) : null;
        return new Reading(Math.max(0, cpuPercent), memory, network);
    }

    /** One reading; {@code network} is null when network monitoring is off. */
    public record Reading(double cpuPercent, HostReader.Memory memory, HostReader.NetworkCounters network) {

        public double memoryPercent() {
            return memory.total() == 0 ? 0 : 100.0 * memory.used() / memory.total();
        }

        /** The {@code system} object, rounded as the Python core rounds it. */
        public Map<String, Object> systemJson() {
            var system = new LinkedHashMap<String, Object>();
            system.put("cpu_percent", round(cpuPercent, 1));
            system.put("memory_percent", round(memoryPercent(), 1));
            system.put("memory_available_mb", round(memory.available() / 1048576.0, 2));
            system.put("memory_used_mb", round(memory.used() / 1048576.0, 2));
            return system;
        }

        /** The {@code network} object. */
        public Map<String, Object> networkJson() {
            var json = new LinkedHashMap<String, Object>();
            json.put("bytes_sent", network.bytesSent());
            json.put("bytes_recv", network.bytesRecv());
            json.put("packets_sent", network.packetsSent());
            json.put("packets_recv", network.packetsRecv());
            return json;
        }
    }

    static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}
