package ccc.core.sdk;

import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.core.config.CoreConfig;
import ccc.core.http.ApiServer;
import ccc.core.http.Response;
import ccc.core.http.Router;
import ccc.core.lifecycle.Failure;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.Planner;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.lifecycle.UpdatePlan;
import ccc.core.log.Log;
import ccc.core.metrics.ProcessMetrics;
import ccc.core.metrics.PrometheusMetrics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The contract of Showrunner's SDK, spoken beside the HTTP control API: the workload starts with
 * the JSON object of a file as its start payload, SIGHUP re-reads the file and applies it (live
 * where the adapter can, else by a restart), and a listener of its own serves {@code /healthz}
 * and {@code /metrics}. Requests become plans through the same {@link Planner} as
 * {@code /api/start} and {@code /api/update}, so a file is checked exactly as a request body is.
 */
public final class ShowrunnerSdk implements AutoCloseable {

    /** Where the SDK serves its health, as every SDK app does. */
    public static final String HEALTH_PATH = "/healthz";
    /** Where the SDK serves Prometheus metrics, as every SDK app does. */
    public static final String METRICS_PATH = "/metrics";

    private static final Log LOG = Log.named("sdk");

    private final SdkConfigFile file;
    private final Lifecycle lifecycle;
    private final Planner planner;
    private final SdkMetrics metrics;
    private final AtomicReference<Optional<String>> reloadRefused;
    private final ApiServer server;
    private final Optional<EphemeralExit> ephemeral;
    // One reload at a time, and at most one waiting behind it: a burst of SIGHUPs reads the file twice, not once per signal.
    private final ExecutorService reloads = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("sdk-reload").daemon(true).factory());
    private final AtomicBoolean reloadQueued = new AtomicBoolean();

    private ShowrunnerSdk(SdkConfigFile file, Lifecycle lifecycle, Planner planner, SdkMetrics metrics,
                          AtomicReference<Optional<String>> reloadRefused, ApiServer server, Optional<EphemeralExit> ephemeral) {
        this.file = file;
        this.lifecycle = lifecycle;
        this.planner = planner;
        this.metrics = metrics;
        this.reloadRefused = reloadRefused;
        this.server = server;
        this.ephemeral = ephemeral;
    }

    /**
     * Starts the SDK's listener on {@code showrunner_sdk.host} and {@code port}, with the control
     * API's limits and no token, as the SDK serves it. Starts no workload: {@link #startWorkload()} does.
     *
     * @param ephemeral the end of an ephemeral workload, when {@code showrunner_sdk.lifecycle} is ephemeral
     */
    public static ShowrunnerSdk listen(CoreConfig config, Lifecycle lifecycle, Planner planner, PrometheusMetrics prometheus,
                                       AppIdentity app, Optional<EphemeralExit> ephemeral) throws IOException {
        var sdk = config.showrunnerSdk();
        Instant processStarted = ProcessHandle.current().info().startInstant().orElseGet(Instant::now);
        var metrics = new SdkMetrics(prometheus.registry(), lifecycle::snapshot, new ProcessMetrics(Path.of("/proc")), processStarted, app);
        var reloadRefused = new AtomicReference<Optional<String>>(Optional.empty());
        var router = new Router(config.server().maxBodyBytes(), Router.Observer.NONE, Optional.empty(), false)
                .json("GET", HEALTH_PATH, request -> Response.ok(SdkHealth.body(lifecycle.snapshot(), reloadRefused.get(), metrics.uptime())))
                .raw("GET", METRICS_PATH, prometheus.handler(metrics.registry()));
        var server = ApiServer.start(config.server().listeningOn(sdk.host(), sdk.port()), router);
        LOG.info("Showrunner SDK contract on", "host", sdk.host(), "port", server.port(), "config_path", sdk.configPath(),
                "lifecycle", sdk.lifecycle().wireName(), "app", app.name(), "version", app.version());
        return new ShowrunnerSdk(new SdkConfigFile(sdk.configPath(), config.server().maxBodyBytes()), lifecycle, planner, metrics,
                reloadRefused, server, ephemeral);
    }

    /** The port the SDK's listener bound. */
    public int port() {
        return server.port();
    }

    /** The code the core exits with once an ephemeral workload has ended for good; empty for a long-running one. */
    public Optional<CompletionStage<Integer>> ephemeralExitCode() {
        return ephemeral.map(EphemeralExit::exitCode);
    }

    /**
     * Reads the file and starts the workload with it, as {@code /api/start} with that body
     * would. A file or payload the core refuses leaves it up, in {@code error} with the reason.
     */
    public void startWorkload() {
        Optional<Payload> payload = payload(file.read(), false);
        if (payload.isEmpty()) {
            return;
        }
        try {
            lifecycle.start(planner.start(payload.get()));
            LOG.info("starting the workload with the configuration file", "path", file.path());
        } catch (Planner.InvalidRequest e) {
            refuse(file.path() + ": " + e.getMessage(), false);
        }
    }

    /** Queues a reload of the file (SIGHUP); returns at once. */
    public void reload() {
        if (!reloadQueued.compareAndSet(false, true)) {
            LOG.info("configuration reload already queued; this signal is folded into it");
            return;
        }
        try {
            reloads.execute(() -> {
                reloadQueued.set(false);
                try {
                    runReload();
                } catch (Lifecycle.ShuttingDownException e) {
                    LOG.info("configuration reload dropped: the core is shutting down");
                } catch (RuntimeException e) {
                    // The next SIGHUP must still be served.
                    LOG.error("configuration reload failed", e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.info("configuration reload dropped: the core is shutting down");
        }
    }

    private void runReload() throws InterruptedException {
        Instant began = Instant.now();
        LOG.info("reloading the configuration file", "path", file.path());
        Optional<Payload> read = payload(file.read(), true);
        if (read.isEmpty()) {
            return;
        }
        Payload payload = read.get();
        if (lifecycle.snapshot().phase() != Phase.RUNNING) {
            restartWith(payload, "start", "no workload was running", began);
            return;
        }
        UpdatePlan update;
        try {
            update = planner.update(payload);
        } catch (Planner.InvalidRequest e) {
            refuse(file.path() + ": " + e.getMessage(), true);
            return;
        }
        switch (lifecycle.update(update)) {
            case UpdateOutcome.Answered answered when answered.result() == UpdateResult.APPLIED -> applied("live update", "", began);
            case UpdateOutcome.Answered answered -> restartWith(payload, "restart",
                    answered.result() == UpdateResult.DECLINED ? "adapter declined update" : "live-update not supported", began);
            case UpdateOutcome.NotRunning notRunning -> restartWith(payload, "start", "no workload was running", began);
            // The workload's state after a failed update is unknown: a restart gives it the new configuration for sure.
            case UpdateOutcome.Failed failed -> restartWith(payload, "restart", "live update failed: " + failed.reason(), began);
        }
    }

    /** Applies the configuration by a start, which restarts a running workload. */
    private void restartWith(Payload payload, String how, String because, Instant began) {
        try {
            lifecycle.start(planner.start(payload));
        } catch (Planner.InvalidRequest e) {
            refuse(file.path() + ": " + e.getMessage(), true);
            return;
        }
        applied(how, because, began);
    }

    private void applied(String how, String because, Instant began) {
        reloadRefused.set(Optional.empty());
        metrics.reloadApplied();
        long took = Duration.between(began, Instant.now()).toMillis();
        if (because.isEmpty()) {
            LOG.info("configuration reloaded", "how", how, "took_ms", took);
        } else {
            LOG.info("configuration reloaded", "how", how, "because", because, "took_ms", took);
        }
    }

    /**
     * A file or payload the core refuses: logged and counted, and shown by {@code /healthz}. A
     * running workload is left as it is; with none running the lifecycle shows a failed start.
     */
    private void refuse(String reason, boolean reloading) {
        if (reloading) {
            LOG.error("configuration reload refused; the workload is left as it is", "reason", reason);
            metrics.reloadRefused();
            reloadRefused.set(Optional.of(reason));
        }
        Snapshot now = lifecycle.snapshot();
        if (!reloading || (!now.phase().active() && now.phase() != Phase.BACKOFF)) {
            lifecycle.refuseStart(Failure.of(Failure.Kind.START_REFUSED, reason));
        }
    }

    private Optional<Payload> payload(SdkConfigFile.Reading reading, boolean reloading) {
        return switch (reading) {
            case SdkConfigFile.Found found -> Optional.of(new Payload(found.payload()));
            case SdkConfigFile.Missing missing -> {
                LOG.warn("configuration file missing; using an empty configuration, as the SDK does", "path", file.path());
                yield Optional.of(new Payload(Map.of()));
            }
            case SdkConfigFile.Refused refused -> {
                refuse(refused.reason(), reloading);
                yield Optional.empty();
            }
        };
    }

    /** Drops queued reloads and interrupts one under way; SIGHUPs after this are dropped too. */
    public void stopReloading() {
        reloads.shutdownNow();
    }

    /** Stops reloading and listening; the lifecycle's shutdown is the core's. */
    @Override
    public void close() {
        stopReloading();
        server.close();
    }
}
