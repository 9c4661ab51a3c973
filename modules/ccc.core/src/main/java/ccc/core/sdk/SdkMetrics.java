package ccc.core.sdk;

import ccc.core.lifecycle.Snapshot;
import ccc.core.log.Log;
import ccc.core.metrics.ProcessMetrics;
import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.CounterMetricFamily;
import io.prometheus.client.GaugeMetricFamily;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * What the SDK's {@code /metrics} serves: every family of the core's registry, then the base
 * families every SDK app has. A family of the core's registry (an adapter's) that takes one of
 * the base names gives way to the base family, so the exposition never names a family twice.
 */
final class SdkMetrics extends Collector {

    private static final Log LOG = Log.named("sdk");
    /** The SDK's base families, by family name (a counter's without {@code _total}). */
    static final Set<String> BASE_FAMILIES = Set.of("app_uptime_seconds", "config_reloads", "app_info", "process_cpu_percent",
            "process_memory_mb");

    private final CollectorRegistry core;
    private final Supplier<Snapshot> lifecycle;
    private final ProcessMetrics process;
    private final Instant startedAt;
    private final AppIdentity app;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong reloadsRefused = new AtomicLong();
    // At most one entry per base family: each clash is logged once, not on every scrape.
    private final Set<String> clashesLogged = ConcurrentHashMap.newKeySet();

    SdkMetrics(CollectorRegistry core, Supplier<Snapshot> lifecycle, ProcessMetrics process, Instant startedAt, AppIdentity app) {
        this.core = core;
        this.lifecycle = lifecycle;
        this.process = process;
        this.startedAt = startedAt;
        this.app = app;
    }

    /** A registry holding the core's families and these, for the SDK's listener. */
    CollectorRegistry registry() {
        var registry = new CollectorRegistry(false);
        register(registry);
        return registry;
    }

    /** A configuration reload was applied, live or by a restart. */
    void reloadApplied() {
        reloads.incrementAndGet();
    }

    /** A configuration reload was refused, and the workload left as it was. */
    void reloadRefused() {
        reloadsRefused.incrementAndGet();
    }

    Duration uptime() {
        return Duration.between(startedAt, Instant.now());
    }

    @Override
    public List<MetricFamilySamples> collect() {
        var families = new ArrayList<MetricFamilySamples>();
        for (MetricFamilySamples family : Collections.list(core.metricFamilySamples())) {
            String name = family.name.endsWith("_total") ? family.name.substring(0, family.name.length() - "_total".length()) : family.name;
            if (BASE_FAMILIES.contains(name)) {
                if (clashesLogged.add(name)) {
                    LOG.warn("metric family left out of the SDK's /metrics: the SDK's base family of that name is served instead",
                            "family", family.name);
                }
                continue;
            }
            families.add(family);
        }
        families.add(new GaugeMetricFamily("app_uptime_seconds", "Seconds since the app (the core) started.",
                uptime().toMillis() / 1000.0));
        families.add(new CounterMetricFamily("config_reloads_total",
                "Configuration reloads applied after SIGHUP, live or by restarting the workload.", reloads.get()));
        var info = new GaugeMetricFamily("app_info", "The app's name and version; always 1.", List.of("name", "version"));
        info.addMetric(List.of(app.name(), app.version()), 1);
        families.add(info);
        Map<String, Object> figures = process.read(lifecycle.get().pid());
        families.add(new GaugeMetricFamily("process_cpu_percent",
                "CPU use of the workload's main process since the previous scrape, in percent of one core; 0 when none runs.",
                number(figures.get("cpu_percent"))));
        families.add(new GaugeMetricFamily("process_memory_mb",
                "Resident memory of the workload's main process in MiB; 0 when none runs.", number(figures.get("memory_mb"))));
        families.add(new CounterMetricFamily("ccc_config_reloads_refused_total",
                "Configuration reloads refused (the file unreadable or refused), leaving the workload as it was.", reloadsRefused.get()));
        return families;
    }

    private static double number(Object value) {
        return value instanceof Number number ? number.doubleValue() : 0;
    }
}
