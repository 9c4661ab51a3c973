package ccc.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole {@code config.yaml}, validated: the Python core's keys (compat.md) and ours.
 *
 * @param source where it was read from
 */
public record CoreConfig(
        String source,
        Server server,
        Adapter adapter,
        Logging log,
        Lifecycle lifecycle,
        ProcessManagement processManagement,
        Metrics metrics,
        TrafficControl trafficControl,
        PrivilegedCommands privilegedCommands,
        Optional<Path> adaptersDir) {

    /** Where and how the HTTP API listens. */
    public record Server(String host, int port, long maxBodyBytes) {
    }

    /**
     * The {@code adapter:} section.
     *
     * @param className the provider class to bind; empty when the core runs the workload itself
     * @param values the whole section, handed to the adapter
     */
    public record Adapter(
            Optional<String> className,
            Optional<String> primaryPayloadKey,
            Optional<String> runAsUser,
            Map<String, Object> values) {
    }

    /** Log line format. */
    public record Logging(ccc.core.log.Log.Format format) {
    }

    /** Bounds on adapter calls and on the shutdown that follows SIGTERM. */
    public record Lifecycle(
            Duration startTimeout,
            Duration stopTimeout,
            Duration hookTimeout,
            Duration updateTimeout,
            Duration shutdownGrace) {
    }

    /** compat.md's {@code process_management}: the core runs a configured command itself. */
    public record ProcessManagement(boolean enabled, List<String> command) {
    }

    /** compat.md's {@code metrics}. */
    public record Metrics(boolean networkMonitoring, Optional<String> networkInterface, boolean processMonitoring) {
    }

    /** compat.md's {@code traffic_control}. */
    public record TrafficControl(
            boolean enabled,
            String networkInterface,
            String bandwidthMbpsKey,
            double defaultBandwidthMbps,
            String latencyMsKey,
            double defaultLatencyMs) {
    }

    /** compat.md's {@code privileged_commands}: argv lists run as the core's user, in order. */
    public record PrivilegedCommands(
            List<List<String>> preStart,
            List<List<String>> postStop,
            Duration timeout,
            boolean failOnError) {
    }
}
