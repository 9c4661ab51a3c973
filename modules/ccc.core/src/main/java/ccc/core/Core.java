package ccc.core;

import ccc.api.Adapter;
import ccc.core.config.CoreConfig;
import ccc.core.events.EventHub;
import ccc.core.events.LifecycleEvents;
import ccc.core.http.ApiServer;
import ccc.core.http.ControlApi;
import ccc.core.http.Router;
import ccc.core.http.StartUpGate;
import ccc.core.http.Streams;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.LifecycleObserver;
import ccc.core.log.Log;
import ccc.core.log.Timeline;
import ccc.core.metrics.Cgroups;
import ccc.core.metrics.HostReader;
import ccc.core.metrics.MetricsService;
import ccc.core.metrics.ProcessMetrics;
import ccc.core.metrics.PrometheusMetrics;
import ccc.core.metrics.SystemMetrics;
import ccc.core.process.PrivilegeDrop;
import ccc.core.sdk.AppIdentity;
import ccc.core.sdk.EphemeralExit;
import ccc.core.sdk.ShowrunnerSdk;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.Properties;
import java.util.Set;

/** One running core: the adapter bound, the lifecycle, metrics and the HTTP API, wired with plain constructors. */
public final class Core {

    private static final Log LOG = Log.named("core");

    private final CoreConfig config;
    private final Supervisor supervisor;
    private final ApiServer server;
    private final Router router;
    private final java.util.concurrent.atomic.AtomicBoolean readiness;
    private final Optional<ShowrunnerSdk> showrunnerSdk;
    private final EventHub events;
    private final Streams streams;

    private Core(CoreConfig config, Supervisor supervisor, ApiServer server, Router router, java.util.concurrent.atomic.AtomicBoolean readiness,
                 Optional<ShowrunnerSdk> showrunnerSdk, EventHub events, Streams streams) {
        this.config = config;
        this.supervisor = supervisor;
        this.server = server;
        this.router = router;
        this.readiness = readiness;
        this.showrunnerSdk = showrunnerSdk;
        this.events = events;
        this.streams = streams;
    }

    /**
     * Wires a {@link Supervisor} for {@code adapter}, its metrics and the HTTP API, and starts
     * listening; with {@code showrunner_sdk.enabled}, also the SDK's listener, and starts the
     * workload with the SDK's configuration file.
     */
    public static Core start(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop)
            throws IOException {
        return start(config, adapter, adapterName, privilegeDrop, Timeline.none());
    }

    /** As {@link #start(CoreConfig, Optional, String, PrivilegeDrop)}, marking each step on {@code startup}. */
    public static Core start(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop,
                             Timeline startup) throws IOException {
        // Listening first: the liveness probe is answered while the rest is built (StartUpGate).
        var gate = new StartUpGate();
        var server = ApiServer.start(config.server(), gate);
        startup.step("listening");
        // Logged as the port opens, so that a first answer of the probe always comes after this line.
        LOG.info("listening", "host", config.server().host(), "port", server.port(), "adapter", adapterName,
                "config", config.source(), "auth", config.server().authToken().isPresent() ? "bearer token" : "none");
        try {
            return start(config, adapter, adapterName, privilegeDrop, startup, server, gate);
        } catch (IOException | RuntimeException | Error e) {
            server.close();
            throw e;
        }
    }

    private static Core start(CoreConfig config, Optional<Adapter> adapter, String adapterName, PrivilegeDrop privilegeDrop,
                              Timeline startup, ApiServer server, StartUpGate gate) throws IOException {
        var sdkConfig = config.showrunnerSdk();
        Optional<EphemeralExit> ephemeral = sdkConfig.enabled() && sdkConfig.lifecycle() == CoreConfig.AppLifecycle.EPHEMERAL
                ? Optional.of(new EphemeralExit()) : Optional.empty();
        var events = new EventHub();
        var lifecycleEvents = new LifecycleEvents(events);
        // Completed once the API serves: the reaper's set-up and the linking of system calls wait for it (see Supervisor).
        var listening = new java.util.concurrent.CompletableFuture<Void>();
        var supervisor = Supervisor.create(config, adapter, adapterName, privilegeDrop,
                Stream.<LifecycleObserver>concat(ephemeral.stream(), Stream.of(lifecycleEvents)).toList(), listening);
        supervisor.shaper().onChange(lifecycleEvents::trafficChanged);
        if (config.trafficControl().enabled()) {
            supervisor.shaper().removeLeftoverShaping();
        }
        startup.step("supervisor");
        var readiness = new java.util.concurrent.atomic.AtomicBoolean();
        var lifecycle = supervisor.lifecycle();
        var bound = supervisor.adapter();
        var output = supervisor.output();
        var timings = supervisor.timings();
        var metrics = new MetricsService(
                new SystemMetrics(HostReader.system(), Cgroups.system(), config.metrics()).startSampling(),
                new ProcessMetrics(Path.of("/proc")),
                config.metrics(), lifecycle::snapshot, bound);
        startup.step("metrics");
        var prometheus = new PrometheusMetrics(metrics, lifecycle::snapshot, version(), timings);
        var router = new Router(config.server().maxBodyBytes(), prometheus::countRequest,
                config.server().authToken(), config.server().authMetrics());
        // Helpers ahead are started between requests, not beside them.
        supervisor.launcher().countAnswersOf(router::lastAnsweredNanos);
        var streams = new Streams();
        new ControlApi(lifecycle, supervisor.planner(), metrics, output, readiness::get, events, streams)
                .register(router, prometheus.handler());
        startup.step("api");
        gate.open(router, prometheus::countRequest);
        listening.complete(null);
        Optional<ShowrunnerSdk> showrunnerSdk = Optional.empty();
        if (sdkConfig.enabled()) {
            showrunnerSdk = Optional.of(ShowrunnerSdk.listen(config, lifecycle, supervisor.planner(), prometheus,
                    AppIdentity.of(sdkConfig, adapterName, version()), ephemeral));
        }
        // Showrunner's health checks and scrapes must not queue behind a shaped workload either.
        supervisor.shaper().exemptSourcePorts(showrunnerSdk.isPresent()
                ? Set.of(server.port(), showrunnerSdk.get().port()) : Set.of(server.port()));
        if (!privilegeDrop.runningAsRoot()) {
            LOG.warn("not running as root: privileged commands and traffic control are off, and the workload runs as the core's own user");
        }
        readiness.set(true);
        showrunnerSdk.ifPresent(ShowrunnerSdk::startWorkload);
        return new Core(config, supervisor, server, router, readiness, showrunnerSdk, events, streams);
    }

    /** The {@link System#nanoTime()} at which the API last answered a request. */
    public long lastAnsweredNanos() {
        return router.lastAnsweredNanos();
    }

    public int port() {
        return server.port();
    }

    public Lifecycle lifecycle() {
        return supervisor.lifecycle();
    }

    public Router router() {
        return router;
    }

    /** The events {@code /api/events} streams. */
    public EventHub events() {
        return events;
    }

    /** The answers being streamed ({@code /api/events}, {@code /api/logs?follow=true}). */
    public Streams streams() {
        return streams;
    }

    /** The Showrunner SDK's side of the core, when {@code showrunner_sdk.enabled}. */
    public Optional<ShowrunnerSdk> showrunnerSdk() {
        return showrunnerSdk;
    }

    /**
     * Runs the stop sequence within the configured grace, then stops serving.
     *
     * @return whether the workload was stopped cleanly within the grace
     */
    public boolean shutdown() {
        readiness.set(false);
        LOG.info("shutting down", "grace_s", config.lifecycle().shutdownGrace().toSeconds());
        // No reload may start the workload again while it is stopped for good.
        showrunnerSdk.ifPresent(ShowrunnerSdk::stopReloading);
        boolean clean = supervisor.lifecycle().shutdown(config.lifecycle().shutdownGrace());
        // The workload has ended: what it left in its directory goes too, and the helper started ahead for the next.
        supervisor.launcher().removeWorkloadDirectory();
        supervisor.launcher().close();
        // Streams send the stop's events, then end, before the server closes their connections.
        events.close();
        streams.endAll(Streams.END_WAIT);
        streams.close();
        server.close();
        showrunnerSdk.ifPresent(ShowrunnerSdk::close);
        LOG.info("shut down", "clean", clean);
        return clean;
    }

    /** The core's version, from the build. */
    public static String version() {
        try (InputStream in = Core.class.getResourceAsStream("build.properties")) {
            var properties = new Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
