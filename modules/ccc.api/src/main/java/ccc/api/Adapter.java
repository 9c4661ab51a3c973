package ccc.api;

import java.util.List;
import java.util.Map;

/**
 * Tells the core how to start, stop, update and measure one particular workload.
 *
 * <p>An implementation is a service provider: its module declares
 * {@code provides ccc.api.Adapter with my.pkg.MyAdapter;} and {@code adapter.class} in
 * {@code config.yaml} names {@code my.pkg.MyAdapter}. The core creates one instance, calls
 * {@link #configure(AdapterConfig)} once, and then calls the lifecycle methods from a single
 * thread, one at a time, so an adapter needs no synchronisation of its own for them.
 * {@link #metrics()} and {@link #prometheusMetrics()} may be called from other threads at any
 * time and must be safe to call concurrently with the lifecycle methods.
 *
 * <p>Only {@link #start} and {@link #stop} must be written; every other method has a default
 * that does nothing or reports "not supported".
 *
 * <p>Each lifecycle call is bounded by a timeout of {@code config.yaml}'s {@code lifecycle}
 * section ({@code start_timeout_seconds}, {@code stop_timeout_seconds},
 * {@code update_timeout_seconds}, {@code hook_timeout_seconds}). When it runs out the core
 * interrupts the calling thread, reports the call as timed out and goes on; a workload that
 * {@link #start} returns after its timeout is killed. An exception thrown by a call is reported
 * in {@code last_error} (or as the update's 500), never thrown at the caller of the API.
 *
 * @since 0.1
 */
public interface Adapter {

    /**
     * Receives the adapter's static configuration (the {@code adapter:} section of
     * {@code config.yaml}) once, before any other call.
     */
    default void configure(AdapterConfig config) {
    }

    /**
     * Starts the workload and returns a handle the core watches to notice when it exits.
     * Returning {@code null} fails the start ({@code adapter start returned no workload}). A start
     * that fails (throws, times out or returns null) has the processes it launched through
     * {@link AdapterContext#launch} killed.
     *
     * @param payload the body of {@code /api/start}
     * @param context the core's services: privilege drop, launching, configuration
     */
    Workload start(Payload payload, AdapterContext context) throws Exception;

    /**
     * Stops the workload. Must be idempotent: it may be called when nothing runs. Whatever of the
     * workload's process tree is left when it returns gets SIGTERM from the core, and SIGKILL
     * when {@code lifecycle.stop_timeout_seconds}, counted from the stop's beginning, runs out.
     */
    void stop() throws Exception;

    /**
     * Applies a live configuration change to the running workload. Throwing
     * {@link UnsupportedOperationException} means the same as returning
     * {@link UpdateResult#NOT_SUPPORTED}, as Python adapters' {@code NotImplementedError} did.
     *
     * @return {@link UpdateResult#APPLIED}, {@link UpdateResult#DECLINED}, or, the default,
     *     {@link UpdateResult#NOT_SUPPORTED}
     */
    default UpdateResult update(Payload payload) throws Exception {
        return UpdateResult.NOT_SUPPORTED;
    }

    /**
     * The adapter's own figures, served under {@code metrics} and {@code adapter_metrics}. Values
     * are maps, collections, arrays, strings, numbers, booleans or null; the JDK's atomic numbers
     * and adders are served as their value and any other object as its {@code toString()}.
     */
    default Map<String, Object> metrics() {
        return Map.of();
    }

    /** The adapter's own Prometheus families, served beside the core's at {@code /metrics}. */
    default List<MetricFamily> prometheusMetrics() {
        return List.of();
    }

    /** Privileged setup, run as the core's user (root in a container) before {@link #start}. */
    default void preStart(Payload payload, AdapterContext context) throws Exception {
    }

    /** Privileged teardown, run as the core's user after {@link #stop}. */
    default void postStop(AdapterContext context) throws Exception {
    }

    /** Lets the adapter adjust the start payload before the core applies traffic control. */
    default Payload beforeTrafficControl(Payload payload) {
        return payload;
    }

    /** Called once when the workload has exited, whether on its own or because it was stopped. */
    default void onWorkloadExit(WorkloadExit exit) {
    }
}
