package ccc.testkit;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.core.Supervisor;
import ccc.core.adapters.AdapterCatalog;
import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.lifecycle.Planner;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.process.PrivilegeDrop;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Runs one adapter under the core's real lifecycle and launcher, the way the core would, and
 * lets a test drive it: start, update, metrics, stop, and what the lifecycle says in between.
 *
 * <pre>{@code
 * try (var harness = AdapterHarness.of(new MyAdapter())) {
 *     harness.start(Map.of("flowfile", "flows.txt"));
 *     assertEquals("running", harness.appStatus());
 *     assertEquals(UpdateResult.APPLIED, harness.update(Map.of("log_level", "debug")));
 *     harness.stop();
 * }
 * }</pre>
 */
public final class AdapterHarness implements AutoCloseable {

    private static final Duration SETTLE = Duration.ofSeconds(30);
    private static final Set<String> SETTLED = Set.of("running", "failed", "exited", "stopped");

    private final Supervisor supervisor;
    private final Adapter adapter;

    private AdapterHarness(Supervisor supervisor, Adapter adapter) {
        this.supervisor = supervisor;
        this.adapter = adapter;
    }

    /** A harness with the configuration {@code adapter: {class: <the adapter's class>}}. */
    public static AdapterHarness of(Adapter adapter) {
        return of(adapter, "adapter:\n  class: " + adapter.getClass().getName() + "\n");
    }

    /**
     * A harness with a whole {@code config.yaml} (the {@code server} section is ignored: no
     * server is started).
     *
     * @throws IllegalArgumentException if the configuration is invalid, with the core's message
     */
    public static AdapterHarness of(Adapter adapter, String configYaml) {
        CoreConfig config;
        try {
            config = new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(configYaml.getBytes(StandardCharsets.UTF_8)), "test configuration");
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        adapter.configure(new AdapterConfig(config.adapter().values()));
        return new AdapterHarness(Supervisor.create(config, Optional.of(adapter), adapter.getClass().getName(), PrivilegeDrop.system()), adapter);
    }

    /**
     * A harness for the adapter whose provider class is {@code className}, found with
     * {@link java.util.ServiceLoader} among the modules of the test's module path, as the core
     * finds it: a test through it proves the adapter module's {@code provides} line too.
     *
     * @throws IllegalArgumentException if no such provider is found (the message lists those that are)
     */
    public static AdapterHarness load(String className) {
        return load(className, "adapter:\n  class: " + className + "\n");
    }

    /** As {@link #load(String)}, with a whole {@code config.yaml}. */
    public static AdapterHarness load(String className, String configYaml) {
        try {
            return of(AdapterCatalog.load(Optional.empty()).create(className), configYaml);
        } catch (AdapterCatalog.AdapterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Starts (or restarts) the workload and waits until it runs or the start has failed.
     *
     * @throws IllegalArgumentException when the core refuses the payload, as {@code /api/start} would with a 400
     */
    public AdapterHarness start(Map<String, ?> payload) {
        try {
            supervisor.lifecycle().start(supervisor.planner().start(Payload.of(payload)));
        } catch (Planner.InvalidRequest e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return awaitSettled();
    }

    /** Stops the workload and waits until the stop sequence has ended. */
    public AdapterHarness stop() {
        supervisor.lifecycle().stop(false);
        return awaitPhase("stopped", "failed", "exited");
    }

    /**
     * Hands a live update to the adapter as {@code /api/update} would.
     *
     * @throws IllegalStateException when nothing runs, or the adapter threw or timed out
     * @throws IllegalArgumentException when the core refuses the request, as {@code /api/update} would with a 400
     */
    public UpdateResult update(Map<String, ?> payload) {
        UpdateOutcome outcome;
        try {
            outcome = supervisor.lifecycle().update(supervisor.planner().update(Payload.of(payload)));
        } catch (Planner.InvalidRequest e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return switch (outcome) {
            case UpdateOutcome.Answered answered -> answered.result();
            case UpdateOutcome.NotRunning notRunning -> throw new IllegalStateException("application not running");
            case UpdateOutcome.Failed failed -> throw new IllegalStateException(failed.reason());
        };
    }

    /** The adapter's own figures, as {@code /api/metrics} serves them under {@code adapter_metrics}. */
    public Map<String, Object> metrics() {
        return adapter.metrics();
    }

    /** {@code app_status} as Showrunner sees it: initializing, running, stopped or error. */
    public String appStatus() {
        return snapshot().appStatus();
    }

    /** The finer phase of {@code /api/status}: idle, starting, running, stopping, stopped, exited, backoff or failed. */
    public String phase() {
        return snapshot().phase().wireName();
    }

    /** Why the last start, stop or run failed, if it did. */
    public Optional<String> lastError() {
        return snapshot().lastError();
    }

    /** The workload's process id while it runs. */
    public Optional<Long> pid() {
        var pid = snapshot().pid();
        return pid.isPresent() ? Optional.of(pid.getAsLong()) : Optional.empty();
    }

    /** The last {@code count} lines the workload wrote (stdout and stderr), oldest first. */
    public List<String> output(int count) {
        return supervisor.output().tail(count, null).stream().map(line -> line.text()).toList();
    }

    /** Waits until the phase is one of {@code phases}. */
    public AdapterHarness awaitPhase(String... phases) {
        Instant deadline = Instant.now().plus(SETTLE);
        while (!List.of(phases).contains(phase())) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("phase is still " + phase() + " after " + SETTLE.toSeconds() + " s, expected one of "
                        + List.of(phases) + lastError().map(error -> "; last_error: " + error).orElse(""));
            }
            sleep();
        }
        return this;
    }

    /** Waits until {@code condition} holds of the adapter's metrics. */
    public AdapterHarness awaitMetrics(java.util.function.Predicate<Map<String, Object>> condition) {
        Instant deadline = Instant.now().plus(SETTLE);
        while (!condition.test(metrics())) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("metrics never met the condition: " + metrics());
            }
            sleep();
        }
        return this;
    }

    /** Waits until the workload has written a line containing {@code text}. */
    public AdapterHarness awaitOutput(String text) {
        Instant deadline = Instant.now().plus(SETTLE);
        while (output(supervisor.output().capacity()).stream().noneMatch(line -> line.contains(text))) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("the workload never wrote '" + text + "'; last lines: " + output(20));
            }
            sleep();
        }
        return this;
    }

    private AdapterHarness awaitSettled() {
        return awaitPhase(SETTLED.toArray(String[]::new));
    }

    private Snapshot snapshot() {
        return supervisor.lifecycle().snapshot();
    }

    private static void sleep() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Runs the stop sequence, as the core does on SIGTERM. */
    @Override
    public void close() {
        supervisor.lifecycle().shutdown(supervisor.config().lifecycle().shutdownGrace());
    }
}
