package ccc.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole {@code config.yaml}, validated: the Python core's keys (docs/compatibility.md) and ours.
 *
 * @param source where it was read from
 */
public record CoreConfig(
        String source,
        ServerSection server,
        AdapterSection adapter,
        LogSection log,
        LifecycleTimeouts lifecycle,
        ProcessManagementSection processManagement,
        MetricsSection metrics,
        TrafficControlSection trafficControl,
        PrivilegedCommandsSection privilegedCommands,
        Optional<Path> adaptersDir,
        ShowrunnerSdkSection showrunnerSdk) {

    /**
     * Where and how the HTTP API listens, and what it accepts.
     *
     * @param authToken the bearer token every {@code /api/*} route but health and readiness needs, if set
     * @param authMetrics whether {@code /metrics} and {@code /api/metrics} need the token too
     * @param maxConnections open connections at most; more are accepted and closed at once
     */
    public record ServerSection(
            String host,
            int port,
            long maxBodyBytes,
            Optional<Secret> authToken,
            boolean authMetrics,
            int maxHeaders,
            int maxHeaderBytes,
            Duration requestTimeout,
            Duration idleTimeout,
            int maxConnections) {

        /** {@code server.max_connections} when not set. */
        public static final int DEFAULT_MAX_CONNECTIONS = 512;
        /** {@code server.max_header_bytes} when not set: as uvicorn's parser allows. */
        public static final int DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

        /** The same limits on another address, with no token: a second listener, such as the Showrunner SDK's port. */
        public ServerSection listeningOn(String otherHost, int otherPort) {
            return new ServerSection(otherHost, otherPort, maxBodyBytes, Optional.empty(), false, maxHeaders, maxHeaderBytes,
                    requestTimeout, idleTimeout, maxConnections);
        }
    }

    /**
     * The {@code adapter:} section.
     *
     * @param className the provider class to bind; empty when the core runs the workload itself
     * @param envPassthrough names of the core's environment variables every workload gets too
     * @param values the whole section, handed to the adapter
     */
    public record AdapterSection(
            Optional<String> className,
            Optional<String> primaryPayloadKey,
            Optional<String> runAsUser,
            List<String> envPassthrough,
            Map<String, Object> values) {
    }

    /** Log line format. */
    public record LogSection(ccc.core.log.Log.Format format) {
    }

    /** Bounds on adapter calls and on the shutdown that follows SIGTERM. */
    public record LifecycleTimeouts(
            Duration startTimeout,
            Duration stopTimeout,
            Duration hookTimeout,
            Duration updateTimeout,
            Duration shutdownGrace) {
    }

    /**
     * the Python core's {@code process_management}: the core runs a configured command itself.
     *
     * @param command argv templates, one element each
     * @param environment variables added to the workload's built environment, values are templates
     * @param payloadFile where the whole start payload is written as JSON before launch
     * @param update how a live update reaches the workload; empty when it has none
     * @param stopSignal the signal a stop sends first
     * @param stopTimeout how long a stop waits before SIGKILL
     */
    public record ProcessManagementSection(
            boolean enabled,
            List<PayloadTemplate> command,
            Map<String, PayloadTemplate> environment,
            Optional<Path> workingDirectory,
            Optional<Path> payloadFile,
            Optional<UpdateSection> update,
            String stopSignal,
            Duration stopTimeout,
            RestartSection restart) {
    }

    /** A live update by signal, after rewriting the payload file when asked. */
    public record UpdateSection(String signal, boolean rewritePayloadFile) {
    }

    /**
     * What happens when the workload ends on its own.
     *
     * @param maxRetries restarts in a row before giving up; -1 for no limit
     */
    public record RestartSection(RestartPolicy policy, int maxRetries, Duration backoffInitial, Duration backoffMax) {

        /** Never restart. */
        public static final RestartSection NEVER = new RestartSection(RestartPolicy.NEVER, 0, Duration.ofSeconds(1), Duration.ofSeconds(30));

        /** Whether the policy asks for a restart after an exit with {@code exitCode}. */
        public boolean wanted(int exitCode) {
            return switch (policy) {
                case NEVER -> false;
                case ON_FAILURE -> exitCode != 0;
                case ALWAYS -> true;
            };
        }

        /** Whether another restart is allowed after {@code attempts} in a row. */
        public boolean allows(int attempts) {
            return maxRetries < 0 || attempts < maxRetries;
        }

        /** The wait before restart number {@code attempt} (1 for the first): doubling, capped. */
        public Duration backoff(int attempt) {
            long millis = backoffInitial.toMillis();
            for (int i = 1; i < attempt && millis < backoffMax.toMillis(); i++) {
                millis *= 2;
            }
            return Duration.ofMillis(Math.min(millis, backoffMax.toMillis()));
        }
    }

    /** {@code process_management.restart.policy}. */
    public enum RestartPolicy { NEVER, ON_FAILURE, ALWAYS }

    /** the Python core's {@code metrics}. */
    public record MetricsSection(boolean networkMonitoring, Optional<String> networkInterface, boolean processMonitoring) {
    }

    /**
     * the Python core's {@code traffic_control}, with jitter and loss beside bandwidth and latency. A
     * value of 0 shapes nothing in that respect, and a bandwidth of 0 (the default) sets no limit.
     */
    public record TrafficControlSection(
            boolean enabled,
            String networkInterface,
            String bandwidthMbpsKey,
            double defaultBandwidthMbps,
            String latencyMsKey,
            double defaultLatencyMs,
            String jitterMsKey,
            double defaultJitterMs,
            String lossPercentKey,
            double defaultLossPercent) {

        /**
         * The lowest bandwidth limit, in Mbit/s. Below it a full-size packet takes more than a
         * tenth of a second to leave and the workload's connections stall; such values are
         * mistakes (kbit/s for Mbit/s), and are refused rather than applied.
         */
        public static final double MIN_BANDWIDTH_MBPS = 0.1;
        /** The highest bandwidth limit, in Mbit/s. */
        public static final double MAX_BANDWIDTH_MBPS = 100_000;
        /** The bandwidths allowed, for messages. */
        public static final String BANDWIDTH_RANGE = "0 (no limit) or a number from 0.1 to 100000";

        /** Whether {@code mbps} is 0 (no limit) or a limit from the minimum to the maximum. */
        public static boolean validBandwidth(double mbps) {
            return mbps == 0 || (mbps >= MIN_BANDWIDTH_MBPS && mbps <= MAX_BANDWIDTH_MBPS);
        }

        /** The payload keys that carry shaping. */
        public java.util.Set<String> keys() {
            return java.util.Set.of(bandwidthMbpsKey, latencyMsKey, jitterMsKey, lossPercentKey);
        }
    }

    /** the Python core's {@code privileged_commands}: argv lists run as the core's user, in order. */
    public record PrivilegedCommandsSection(
            List<List<String>> preStart,
            List<List<String>> postStop,
            Duration timeout,
            boolean failOnError) {
    }

    /**
     * {@code showrunner_sdk}: the core also speaks the contract of Showrunner's SDK, so that the
     * newer Showrunner manages the same image: the start payload from a JSON file, SIGHUP to
     * re-read it, and {@code /metrics} and {@code /healthz} on a port of their own.
     *
     * @param configPath the JSON file holding the start payload ({@code SHOWRUNNER_CONFIG_PATH})
     * @param host the address the SDK's port listens on; all interfaces by default, as the SDK's
     * @param port the SDK's port ({@code SHOWRUNNER_METRICS_PORT}); 0 takes any free port
     * @param appName the {@code name} label of {@code app_info}; empty: the adapter's name
     * @param appVersion the {@code version} label of {@code app_info}; empty: the core's version
     */
    public record ShowrunnerSdkSection(
            boolean enabled,
            Path configPath,
            String host,
            int port,
            Optional<String> appName,
            Optional<String> appVersion,
            AppLifecycle lifecycle) {

        /** The SDK's own defaults: {@code /config/app.json}, port 9090 on all interfaces, long-running. */
        public static final ShowrunnerSdkSection OFF = new ShowrunnerSdkSection(false, Path.of("/config/app.json"), "0.0.0.0", 9090,
                Optional.empty(), Optional.empty(), AppLifecycle.LONG_RUNNING);
    }

    /** {@code showrunner_sdk.lifecycle}: what the end of the workload means for the core. */
    public enum AppLifecycle {
        /** The core stays up when the workload ends, and the restart policy applies: today's behaviour. */
        LONG_RUNNING("long-running"),
        /** The workload is a job: when it ends for good the core stops and exits with its exit code. */
        EPHEMERAL("ephemeral");

        private final String wireName;

        AppLifecycle(String wireName) {
            this.wireName = wireName;
        }

        /** The name in {@code config.yaml} and in {@code appspec.json}. */
        public String wireName() {
            return wireName;
        }
    }
}
