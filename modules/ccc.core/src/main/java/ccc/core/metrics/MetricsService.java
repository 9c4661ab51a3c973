package ccc.core.metrics;

import ccc.api.Adapter;
import ccc.core.config.CoreConfig;
import ccc.core.lifecycle.Snapshot;
import ccc.core.log.Timestamps;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * Assembles {@code /api/metrics}. System readings are cached briefly, so a burst of requests to
 * {@code /api/metrics} and {@code /metrics} reads {@code /proc} once, not once per request.
 */
public final class MetricsService {

    /** How long system readings, and the {@code /metrics} exposition rendered from them, are served before they are taken again. */
    static final Duration READINGS_FRESH_FOR = Duration.ofSeconds(1);

    private final SystemMetrics system;
    private final ProcessMetrics process;
    private final CoreConfig.MetricsSection config;
    private final Supplier<Snapshot> lifecycle;
    private final AdapterFigures adapterFigures;
    private volatile Cached cached;
    private volatile CachedProcess cachedProcess;

    public MetricsService(SystemMetrics system, ProcessMetrics process, CoreConfig.MetricsSection config, Supplier<Snapshot> lifecycle, Adapter adapter) {
        this.system = system;
        this.process = process;
        this.config = config;
        this.lifecycle = lifecycle;
        this.adapterFigures = new AdapterFigures(adapter, () -> lifecycle.get().startedAt());
    }

    /** The latest system reading, at most about a second old. */
    public SystemMetrics.Reading systemReading() {
        Cached current = cached;
        long now = System.nanoTime();
        if (current != null && now - current.takenAt < READINGS_FRESH_FOR.toNanos()) {
            return current.reading;
        }
        synchronized (this) {
            current = cached;
            if (current != null && System.nanoTime() - current.takenAt < READINGS_FRESH_FOR.toNanos()) {
                return current.reading;
            }
            SystemMetrics.Reading reading = system.read();
            cached = new Cached(reading, System.nanoTime());
            return reading;
        }
    }

    /** The body of {@code GET /api/metrics}. */
    public Map<String, Object> json() {
        Snapshot snapshot = lifecycle.get();
        SystemMetrics.Reading reading = systemReading();
        var body = new LinkedHashMap<String, Object>();
        body.put("timestamp", Timestamps.format(Instant.now()));
        body.put("app_status", snapshot.appStatus());
        body.put("container_status", "running");
        body.put("system", reading.systemJson());
        body.put("container", reading.containerJson());
        if (reading.network() != null) {
            body.put("network", reading.networkJson());
        }
        if (config.processMonitoring() && (snapshot.pid().isPresent() || snapshot.startedAt().isPresent())) {
            body.put("process", processReading(snapshot.pid()));
        }
        Map<String, Object> adapterMetrics = adapterMetrics();
        body.put("metrics", adapterMetrics);
        body.put("adapter_metrics", adapterMetrics);
        return body;
    }

    private Map<String, Object> processReading(OptionalLong pid) {
        CachedProcess current = cachedProcess;
        long now = System.nanoTime();
        if (current != null && java.util.Objects.equals(current.pid, pid) && now - current.takenAt < READINGS_FRESH_FOR.toNanos()) {
            return current.reading;
        }
        Map<String, Object> reading = process.read(pid);
        cachedProcess = new CachedProcess(pid, reading, now);
        return reading;
    }

    private Map<String, Object> adapterMetrics() {
        return adapterFigures.metrics();
    }

    /** The adapter's Prometheus families, bounded like its metrics. */
    List<ccc.api.MetricFamily> adapterFamilies() {
        return adapterFigures.families();
    }

    private record Cached(SystemMetrics.Reading reading, long takenAt) {
    }

    private record CachedProcess(OptionalLong pid, Map<String, Object> reading, long takenAt) {
    }
}
