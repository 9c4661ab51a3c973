package ccc.core.metrics;

import ccc.api.MetricFamily;
import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.Snapshot;
import ccc.core.log.BackgroundLoop;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import ccc.core.http.HttpError;
import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.GaugeMetricFamily;
import io.prometheus.client.CounterMetricFamily;
import io.prometheus.client.exporter.HTTPServer;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.prometheus.client.exporter.common.TextFormat;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The {@code /metrics} endpoint: the Python core's families, now typed, beside the core's own
 * {@code ccc_*} families and the adapter's, checked one by one so that a bad family from an
 * adapter is dropped and logged instead of breaking the scrape.
 */
public final class PrometheusMetrics {

    private static final Log LOG = Log.named("metrics");
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private final CollectorRegistry registry = new CollectorRegistry(true);
    private final java.util.concurrent.ExecutorService scrapeThreads =
            java.util.concurrent.Executors.newFixedThreadPool(2, Thread.ofPlatform().name("scrape-", 0).daemon(true).factory());
    private final Counter httpRequests;
    private final BackgroundLoop scrapes = new BackgroundLoop("scrape");

    public PrometheusMetrics(MetricsService metrics, java.util.function.Supplier<Snapshot> lifecycle, String version, LifecycleTimings timings) {
        timings.register(registry);
        httpRequests = Counter.build("ccc_http_requests", "HTTP requests answered, by route, method and status code.")
                .labelNames("path", "method", "code")
                .register(registry);
        new CoreCollector(metrics, lifecycle, version).register(registry);
        new AdapterCollector(metrics).register(registry);
    }

    /** The registry behind {@code /metrics}, for a second listener that serves its families and more. */
    public CollectorRegistry registry() {
        return registry;
    }

    private final java.util.concurrent.ConcurrentHashMap<String, Counter.Child> requestCounters = new java.util.concurrent.ConcurrentHashMap<>();

    /** Counts one answered request; the counter of each route, method and status is looked up once. */
    public void countRequest(String path, String method, int status) {
        requestCounters.computeIfAbsent(path + ' ' + method + ' ' + status,
                key -> httpRequests.labels(path, method, Integer.toString(status))).inc();
    }

    /**
     * The handler for {@code GET /metrics}: text 0.0.4, OpenMetrics on request, gzip and
     * {@code name[]} filters, as simpleclient serves them. The exposition is rendered at most
     * once a second for each variant and served as bytes ({@link CachedExposition}); a request
     * with {@code name[]} filters is rendered for itself by simpleclient's handler, on a small
     * pool of platform threads because that handler keeps a 1 MiB buffer per thread. A scrape
     * that fails is logged as a failed iteration of the scrape loop, and the router answers 500;
     * the next scrape runs as usual.
     */
    public HttpHandler handler() {
        return handler(registry);
    }

    /** The handler of {@link #handler()} serving {@code other}: a second listener's registry, which may hold this one's families. */
    public HttpHandler handler(CollectorRegistry other) {
        var simpleclient = new HTTPServer.HTTPMetricHandler(other);
        var cached = new CachedExposition(other, MetricsService.READINGS_FRESH_FOR, System::nanoTime);
        return exchange -> {
            if (filtered(exchange.getRequestURI().getRawQuery())) {
                scrapeFiltered(exchange, simpleclient);
            } else {
                serveCached(exchange, cached);
            }
        };
    }

    private void serveCached(HttpExchange exchange, CachedExposition cached) throws java.io.IOException {
        var variant = new CachedExposition.Variant(TextFormat.chooseContentType(exchange.getRequestHeaders().getFirst("Accept")),
                acceptsGzip(exchange.getRequestHeaders().get("Accept-Encoding")));
        var body = new java.util.concurrent.atomic.AtomicReference<byte[]>(cached.fresh(variant));
        // Only a render is an iteration of the scrape loop: serving rendered bytes takes no lock.
        if (body.get() == null && !scrapes.iteration(() -> body.set(cached.body(variant)))) {
            throw new IllegalStateException("metrics could not be collected (see the scrape loop's warning)");
        }
        exchange.getResponseHeaders().set("Content-Type", variant.contentType());
        if (variant.gzip()) {
            exchange.getResponseHeaders().set("Content-Encoding", "gzip");
        }
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(200, head ? -1 : body.get().length);
        if (!head) {
            try (var out = exchange.getResponseBody()) {
                out.write(body.get());
            }
        }
    }

    /** Whether the query asks for some families only ({@code name[]=...}), which the cached exposition does not serve. */
    static boolean filtered(String rawQuery) {
        if (rawQuery == null) {
            return false;
        }
        for (String parameter : rawQuery.split("&")) {
            String name = parameter.split("=", 2)[0];
            if (java.net.URLDecoder.decode(name, java.nio.charset.StandardCharsets.UTF_8).equals("name[]")) {
                return true;
            }
        }
        return false;
    }

    /** Whether an {@code Accept-Encoding} header lists gzip, as simpleclient decides it. */
    private static boolean acceptsGzip(List<String> acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        return acceptEncoding.stream().flatMap(header -> java.util.Arrays.stream(header.split(",")))
                .anyMatch(encoding -> encoding.trim().equalsIgnoreCase("gzip"));
    }

    private void scrapeFiltered(HttpExchange exchange, HTTPServer.HTTPMetricHandler simpleclient) throws java.io.IOException {
        var connectionFailed = new java.util.concurrent.atomic.AtomicReference<java.io.IOException>();
        java.util.concurrent.Future<Boolean> scrape;
        try {
            scrape = scrapeThreads.submit(() -> scrapes.iteration(() -> {
                try {
                    simpleclient.handle(exchange);
                } catch (java.io.IOException e) {
                    // The client went away: no failure of the scrape's.
                    connectionFailed.set(e);
                }
            }));
        } catch (OutOfMemoryError e) {
            // The pool starts its threads at its first scrapes, and a workload can take every place.
            if (!FatalErrors.noThreadLeft(e)) {
                throw e;
            }
            throw new HttpError(503, "metrics could not be collected: no thread could be started for a filtered scrape ("
                    + e.getMessage() + "); the unfiltered /metrics needs none").raised();
        }
        boolean scraped;
        try {
            scraped = scrape.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            // Only an Error gets past the iteration; a fatal one must reach the fatal-error handler.
            FatalErrors.rethrowIfFatal(e.getCause());
            throw new java.io.IOException(e.getCause());
        }
        if (connectionFailed.get() != null) {
            throw connectionFailed.get();
        }
        if (!scraped) {
            throw new IllegalStateException("metrics could not be collected (see the scrape loop's warning)");
        }
    }

    /**
     * One family of the core's own, named once for both {@link CoreCollector#collect()} and its
     * description. A counter's name is given with {@code _total}, as simpleclient takes it.
     */
    private record Family(String name, String help, boolean counter, List<String> labels) {

        static Family gauge(String name, String help, String... labels) {
            return new Family(name, help, false, List.of(labels));
        }

        static Family counter(String name, String help) {
            return new Family(name, help, true, List.of());
        }

        /** The family with one unlabelled sample. */
        Collector.MetricFamilySamples of(double value) {
            return counter ? new CounterMetricFamily(name, help, value) : new GaugeMetricFamily(name, help, value);
        }

        /** The labelled gauge, without samples yet. */
        GaugeMetricFamily labelled() {
            return new GaugeMetricFamily(name, help, labels);
        }

        /** The family without samples: its names and type only. */
        Collector.MetricFamilySamples described() {
            return counter ? new CounterMetricFamily(name, help, labels) : new GaugeMetricFamily(name, help, labels);
        }
    }

    /**
     * The container's figures and the lifecycle's. Describable: the registry learns its names from
     * {@link #describe()}, which reads nothing, where without it registering collected once (a
     * system reading, on the start-up's way) only to learn them.
     */
    private static final class CoreCollector extends Collector implements Collector.Describable {
        private static final Family CPU_PERCENT = Family.gauge("container_cpu_percent",
                "CPU use of the container as a percentage of its allowance.");
        private static final Family MEMORY_PERCENT = Family.gauge("container_memory_percent",
                "Memory used by the container as a percentage of its limit.");
        private static final Family MEMORY_USED = Family.gauge("container_memory_used_bytes",
                "Memory used by the container (its working set), in bytes.");
        private static final Family MEMORY_LIMIT = Family.gauge("container_memory_limit_bytes",
                "The container's memory limit in bytes, or the host's memory when none is set.");
        private static final Family CPU_CORES_USED = Family.gauge("container_cpu_cores_used",
                "CPU use of the container in cores.");
        private static final Family CPU_LIMIT_CORES = Family.gauge("container_cpu_limit_cores",
                "The container's CPU quota in cores, or the online CPUs when none is set.");
        private static final Family CPU_THROTTLED = Family.counter("container_cpu_throttled_seconds_total",
                "Time the container was throttled by its CPU quota.");
        private static final Family OOM_KILLS = Family.counter("container_oom_kills_total",
                "Processes in the container killed by the OOM killer.");
        private static final Family PIDS = Family.gauge("container_pids", "Tasks in the container.");
        private static final Family NETWORK_SENT = Family.counter("container_network_bytes_sent_total",
                "Bytes sent on the monitored interfaces.");
        private static final Family NETWORK_RECEIVED = Family.counter("container_network_bytes_recv_total",
                "Bytes received on the monitored interfaces.");
        private static final Family LIFECYCLE_PHASE = Family.gauge("ccc_lifecycle_phase",
                "The lifecycle phase: 1 for the current phase, 0 for the others.", "phase");
        private static final Family WORKLOAD_UP = Family.gauge("ccc_workload_up", "1 while the workload runs, else 0.");
        private static final Family WORKLOAD_RESTARTS = Family.counter("ccc_workload_restarts_total",
                "How often a running workload was started again.");
        private static final Family BUILD_INFO = Family.gauge("ccc_build_info", "The core's version.", "version");
        private static final List<Family> ALL = List.of(CPU_PERCENT, MEMORY_PERCENT, MEMORY_USED, MEMORY_LIMIT, CPU_CORES_USED,
                CPU_LIMIT_CORES, CPU_THROTTLED, OOM_KILLS, PIDS, NETWORK_SENT, NETWORK_RECEIVED, LIFECYCLE_PHASE, WORKLOAD_UP,
                WORKLOAD_RESTARTS, BUILD_INFO);

        private final MetricsService metrics;
        private final java.util.function.Supplier<Snapshot> lifecycle;
        private final String version;

        CoreCollector(MetricsService metrics, java.util.function.Supplier<Snapshot> lifecycle, String version) {
            this.metrics = metrics;
            this.lifecycle = lifecycle;
            this.version = version;
        }

        /** Every family {@link #collect()} may give, those it gives only on some machines included. */
        @Override
        public List<MetricFamilySamples> describe() {
            return ALL.stream().map(Family::described).toList();
        }

        @Override
        public List<MetricFamilySamples> collect() {
            var families = new ArrayList<MetricFamilySamples>();
            SystemMetrics.Reading reading = metrics.systemReading();
            families.add(CPU_PERCENT.of(reading.cpuPercent()));
            families.add(MEMORY_PERCENT.of(reading.memoryPercent()));
            families.add(MEMORY_USED.of(reading.memoryUsed()));
            families.add(MEMORY_LIMIT.of(reading.memoryLimit()));
            families.add(CPU_CORES_USED.of(reading.cpuCoresUsed()));
            families.add(CPU_LIMIT_CORES.of(reading.cpuAllowanceCores()));
            CgroupSample cgroup = reading.cgroup();
            if (cgroup != null && cgroup.throttledNanos() >= 0) {
                families.add(CPU_THROTTLED.of(cgroup.throttledNanos() / 1e9));
            }
            if (cgroup != null && cgroup.oomKills() >= 0) {
                families.add(OOM_KILLS.of(cgroup.oomKills()));
            }
            if (cgroup != null && cgroup.pids() >= 0) {
                families.add(PIDS.of(cgroup.pids()));
            }
            if (reading.network() != null) {
                families.add(NETWORK_SENT.of(reading.network().bytesSent()));
                families.add(NETWORK_RECEIVED.of(reading.network().bytesRecv()));
            }
            Snapshot snapshot = lifecycle.get();
            var state = LIFECYCLE_PHASE.labelled();
            for (Phase phase : Phase.values()) {
                state.addMetric(List.of(phase.wireName()), phase == snapshot.phase() ? 1 : 0);
            }
            families.add(state);
            families.add(WORKLOAD_UP.of(snapshot.phase() == Phase.RUNNING ? 1 : 0));
            families.add(WORKLOAD_RESTARTS.of(snapshot.restarts()));
            var build = BUILD_INFO.labelled();
            build.addMetric(List.of(version), 1);
            families.add(build);
            return families;
        }
    }

    /**
     * The adapter's families, checked one by one. Describable with no names: they are known only
     * once collected (and may change), so registering asks the adapter nothing, and a filtered
     * scrape always collects them and keeps the samples the filter names.
     */
    private static final class AdapterCollector extends Collector implements Collector.Describable {
        private final MetricsService metrics;

        AdapterCollector(MetricsService metrics) {
            this.metrics = metrics;
        }

        @Override
        public List<MetricFamilySamples> describe() {
            return List.of();
        }

        @Override
        public List<MetricFamilySamples> collect() {
            List<MetricFamily> families = metrics.adapterFamilies();
            var accepted = new ArrayList<MetricFamilySamples>();
            var seen = new HashSet<String>();
            for (MetricFamily family : families == null ? List.<MetricFamily>of() : families) {
                String problem = problem(family, seen);
                if (problem != null) {
                    LOG.warn("adapter metric family rejected", "family", family == null ? "null" : family.name(), "reason", problem);
                    continue;
                }
                seen.add(family.name());
                accepted.add(convert(family));
            }
            return accepted;
        }

        private String problem(MetricFamily family, Set<String> seen) {
            if (family == null) {
                return "null family";
            }
            String name = family.name();
            if (!METRIC_NAME.matcher(name).matches()) {
                return "invalid name";
            }
            if (name.startsWith("ccc_") || name.startsWith("container_") || seen.contains(name)) {
                return "name taken by the core or another family";
            }
            for (MetricFamily.Sample sample : family.samples()) {
                if (!sample.name().startsWith(name) || !METRIC_NAME.matcher(sample.name()).matches()) {
                    return "sample name '" + sample.name() + "' does not belong to the family";
                }
                for (Map.Entry<String, String> label : sample.labels().entrySet()) {
                    if (!LABEL_NAME.matcher(label.getKey()).matches() || label.getKey().startsWith("__")) {
                        return "invalid label name '" + label.getKey() + "'";
                    }
                    if (label.getValue() == null) {
                        return "label '" + label.getKey() + "' has no value";
                    }
                }
            }
            return null;
        }

        private static MetricFamilySamples convert(MetricFamily family) {
            var samples = new ArrayList<MetricFamilySamples.Sample>();
            for (MetricFamily.Sample sample : family.samples()) {
                var names = new ArrayList<>(new java.util.TreeMap<>(sample.labels()).keySet());
                var values = names.stream().map(sample.labels()::get).toList();
                samples.add(new MetricFamilySamples.Sample(sample.name(), names, values, sample.value()));
            }
            Type type = switch (family.type()) {
                case COUNTER -> Type.COUNTER;
                case GAUGE -> Type.GAUGE;
                case SUMMARY -> Type.SUMMARY;
                case HISTOGRAM -> Type.HISTOGRAM;
                case UNKNOWN -> Type.UNKNOWN;
            };
            return new MetricFamilySamples(family.name(), type, family.help(), samples);
        }
    }
}
