package ccc.core.config;

import ccc.core.log.Log;
import ccc.core.os.CoreVariables;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/** Reads {@code config.yaml} into a validated {@link CoreConfig}. */
public final class ConfigLoader {

    private static final Log LOG = Log.named("config");
    private static final long MAX_CONFIG_BYTES = 1 << 20;
    /** Keys the Python core read that mean nothing here, with what to do instead. */
    private static final Map<String, String> PYTHON_ONLY_KEYS = Map.of(
            "process_management.command_factory",
            "a Python hook, which this core cannot call; code that builds the command is an adapter here"
                    + " (an Adapter whose start launches it; see the README's adapter guide)");

    /** Environment: {@code true} or {@code false} overrides {@code showrunner_sdk.enabled}, so one image serves both generations of Showrunner. */
    public static final String SDK_SWITCH = "CCC_SHOWRUNNER_SDK";
    /** Environment, as the SDK reads it: the default of {@code showrunner_sdk.config_path}. */
    public static final String SDK_CONFIG_PATH = "SHOWRUNNER_CONFIG_PATH";
    /** Environment, as the SDK reads it: the default of {@code showrunner_sdk.port}. */
    public static final String SDK_METRICS_PORT = "SHOWRUNNER_METRICS_PORT";

    private final Map<String, String> environment;

    /** A loader that reads overrides ({@code CCC_HOST}, {@code CCC_PORT}, {@code CCC_ADAPTERS_DIR}) from {@code environment}. */
    public ConfigLoader(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    /** Reads and validates the file at {@code path}. */
    public CoreConfig load(Path path) throws ConfigException {
        try (InputStream in = Files.newInputStream(path)) {
            return parse(in, path.toString());
        } catch (NoSuchFileException e) {
            throw new ConfigException(path + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(path + ": cannot be read: " + e.getMessage());
        }
    }

    /** Reads and validates a YAML document; {@code source} names it in messages. */
    @SuppressWarnings("unchecked")
    public CoreConfig parse(InputStream in, String source) throws ConfigException {
        var options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setCodePointLimit((int) MAX_CONFIG_BYTES);
        options.setMaxAliasesForCollections(50);
        Object document;
        try {
            document = new Yaml(new SafeConstructor(options)).load(in);
        } catch (MarkedYAMLException e) {
            var mark = e.getProblemMark();
            String where = mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
            throw new ConfigException(source + ": not valid YAML" + where + ": " + e.getProblem());
        } catch (YAMLException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (document == null) {
            throw new ConfigException(source + ": empty; at least an 'adapter' or 'process_management' section is needed");
        }
        if (!(document instanceof Map<?, ?> map)) {
            throw new ConfigException(source + ": expected a mapping at the top level, got " + Section.describe(document));
        }
        for (Object key : map.keySet()) {
            if (!(key instanceof String)) {
                throw new ConfigException(source + ": top-level keys must be strings, got " + Section.describe(key));
            }
        }
        return read(Section.root((Map<String, Object>) map), source);
    }

    private CoreConfig read(Section root, String source) throws ConfigException {
        var processManagement = processManagement(root.section("process_management"));
        var adapter = adapter(root.section("adapter"), processManagement.enabled());
        var server = server(root.section("server"), source);
        var config = new CoreConfig(
                source,
                server,
                adapter,
                new CoreConfig.LogSection(logFormat(root.section("log"))),
                lifecycle(root.section("lifecycle")),
                processManagement,
                metrics(root.section("metrics")),
                trafficControl(root.section("traffic_control")),
                privilegedCommands(root.section("privileged_commands")),
                adaptersDir(root),
                showrunnerSdk(root.section("showrunner_sdk"), server));
        // After every reader has run: the keys none of them asked for are the unknown ones, at any depth.
        for (String unknown : root.unreadKeyPaths()) {
            String hint = PYTHON_ONLY_KEYS.get(unknown);
            if (hint == null) {
                LOG.warn("unknown configuration key ignored", "key", unknown, "source", source);
            } else {
                LOG.warn("unknown configuration key ignored", "key", unknown, "source", source, "why", hint);
            }
        }
        return config;
    }

    private CoreConfig.ServerSection server(Section server, String source) throws ConfigException {
        String host = environment.getOrDefault("CCC_HOST", server.string("host", "0.0.0.0"));
        int port = (int) server.integer("port", 8080, 0, 65535);
        if (environment.get("CCC_PORT") != null) {
            port = environmentPort("CCC_PORT");
        }
        long maxBody = server.integer("max_body_bytes", 1 << 20, 1, 64L << 20);
        return new CoreConfig.ServerSection(host, port, maxBody,
                authToken(server, source),
                server.bool("auth_metrics", false),
                (int) server.integer("max_headers", 100, 8, 10_000),
                (int) server.integer("max_header_bytes", CoreConfig.ServerSection.DEFAULT_MAX_HEADER_BYTES, 1024, 1 << 20),
                seconds(server, "request_timeout_seconds", 30),
                seconds(server, "idle_timeout_seconds", 30),
                (int) server.integer("max_connections", CoreConfig.ServerSection.DEFAULT_MAX_CONNECTIONS, 1, 1_000_000));
    }

    /** The API token: env {@code CCC_API_TOKEN}, else {@code server.auth_token}, else the file {@code server.auth_token_file}. */
    private Optional<Secret> authToken(Section server, String source) throws ConfigException {
        server.accept("auth_token", "auth_token_file");
        String fromEnvironment = environment.get("CCC_API_TOKEN");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return Optional.of(Secret.of(fromEnvironment));
        }
        Optional<String> inline = server.string("auth_token");
        if (inline.isPresent()) {
            fileNamed(source).ifPresent(configFile -> warnIfOthersMayRead(configFile, server.pathOf("auth_token")));
            return Optional.of(Secret.of(inline.get()));
        }
        Optional<String> file = server.string("auth_token_file");
        if (file.isEmpty()) {
            return Optional.empty();
        }
        try {
            warnIfOthersMayRead(Path.of(file.get()), server.pathOf("auth_token_file"));
            String token = Files.readString(Path.of(file.get())).strip();
            if (token.isEmpty()) {
                throw ConfigException.at(server.pathOf("auth_token_file"), file.get() + " is empty");
            }
            return Optional.of(Secret.of(token));
        } catch (IOException e) {
            throw ConfigException.at(server.pathOf("auth_token_file"), "cannot read " + file.get() + ": " + e.getClass().getSimpleName());
        }
    }

    /** The regular file {@code source} names, if it names one (it may name a stream). */
    private static Optional<Path> fileNamed(String source) {
        try {
            Path path = Path.of(source);
            return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
        } catch (java.nio.file.InvalidPathException e) {
            return Optional.empty();
        }
    }

    /**
     * Warns when {@code file}, which holds the API token, may be read by its group or by others:
     * any user of the machine who can read it can call the API. The core still starts, as the
     * file may be meant so (a volume whose modes the deployment does not control).
     */
    private static void warnIfOthersMayRead(Path file, String key) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (permissions.contains(PosixFilePermission.GROUP_READ) || permissions.contains(PosixFilePermission.OTHERS_READ)) {
                LOG.warn("the API token is in a file its group or others may read; make it readable by its owner alone (chmod 600)",
                        "key", key, "file", file, "mode", PosixFilePermissions.toString(permissions));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Not a file whose mode can be told; reading it says the rest.
        }
    }

    private static CoreConfig.AdapterSection adapter(Section adapter, boolean processManaged) throws ConfigException {
        Optional<String> className = adapter.string("class");
        if (className.isEmpty() && !processManaged) {
            throw ConfigException.at(adapter.pathOf("class"),
                    "required: name the adapter's provider class, or set process_management.enabled: true");
        }
        if (className.isPresent() && !className.get().matches("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*")) {
            throw ConfigException.at(adapter.pathOf("class"), "expected a Java class name, got '" + className.get() + "'");
        }
        // The adapter reads its own keys: none here is unknown to the core.
        adapter.acceptAnyKey();
        return new CoreConfig.AdapterSection(
                className,
                adapter.optionalString("primary_payload_key"),
                adapter.optionalString("run_as_user"),
                envPassthrough(adapter),
                adapter.values());
    }

    /** {@code adapter.env_passthrough}: variable names; the core's own ({@code CCC_*}) are never passed on. */
    private static List<String> envPassthrough(Section adapter) throws ConfigException {
        List<String> names = adapter.stringList("env_passthrough");
        for (int i = 0; i < names.size(); i++) {
            String path = adapter.pathOf("env_passthrough") + "[" + i + "]";
            if (!names.get(i).matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw ConfigException.at(path, "'" + names.get(i) + "' is not a valid environment variable name");
            }
            Optional<String> refusal = CoreVariables.refusal(names.get(i));
            if (refusal.isPresent()) {
                throw ConfigException.at(path, refusal.get());
            }
        }
        return names;
    }

    private static Log.Format logFormat(Section log) throws ConfigException {
        String format = log.string("format", "text");
        return switch (format) {
            case "text" -> Log.Format.TEXT;
            case "json" -> Log.Format.JSON;
            default -> throw ConfigException.at(log.pathOf("format"), "expected text or json, got '" + format + "'");
        };
    }

    private static CoreConfig.LifecycleTimeouts lifecycle(Section lifecycle) throws ConfigException {
        return new CoreConfig.LifecycleTimeouts(
                seconds(lifecycle, "start_timeout_seconds", 30),
                seconds(lifecycle, "stop_timeout_seconds", 15),
                seconds(lifecycle, "hook_timeout_seconds", 30),
                seconds(lifecycle, "update_timeout_seconds", 10),
                seconds(lifecycle, "shutdown_grace_seconds", 25));
    }

    private static Duration seconds(Section section, String key, double fallback) throws ConfigException {
        double seconds = section.number(key, fallback, 0.001, 86_400);
        return Duration.ofNanos((long) (seconds * 1e9));
    }

    private static CoreConfig.ProcessManagementSection processManagement(Section section) throws ConfigException {
        boolean enabled = section.bool("enabled", false);
        var command = new ArrayList<PayloadTemplate>();
        List<String> argv = section.stringList("command");
        for (int i = 0; i < argv.size(); i++) {
            command.add(PayloadTemplate.parse(argv.get(i)));
        }
        if (enabled && command.isEmpty()) {
            String factory = section.values().containsKey("command_factory")
                    ? "; command_factory is " + PYTHON_ONLY_KEYS.get(section.pathOf("command_factory")) : "";
            throw ConfigException.at(section.pathOf("command"), "required when process_management.enabled is true" + factory);
        }
        var environment = new LinkedHashMap<String, PayloadTemplate>();
        Section env = section.section("env");
        for (String name : env.values().keySet()) {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw ConfigException.at(env.pathOf(name), "not a valid environment variable name");
            }
            Optional<String> coreOwn = CoreVariables.refusal(name);
            if (coreOwn.isPresent()) {
                throw ConfigException.at(env.pathOf(name), coreOwn.get());
            }
            String value = env.string(name).orElseThrow(() -> ConfigException.at(env.pathOf(name), "expected a string, got null"));
            environment.put(name, PayloadTemplate.parse(value));
        }
        Optional<Path> payloadFile = section.string("payload_file").map(Path::of);
        Section update = section.section("update");
        Optional<CoreConfig.UpdateSection> liveUpdate = Optional.empty();
        if (!update.values().isEmpty()) {
            String signal = update.string("signal", "HUP");
            requireSignal(signal, update.pathOf("signal"));
            boolean rewrite = update.bool("rewrite_payload_file", payloadFile.isPresent());
            if (rewrite && payloadFile.isEmpty()) {
                throw ConfigException.at(update.pathOf("rewrite_payload_file"), "needs process_management.payload_file");
            }
            liveUpdate = Optional.of(new CoreConfig.UpdateSection(signal, rewrite));
        }
        String stopSignal = section.string("stop_signal", "TERM");
        requireSignal(stopSignal, section.pathOf("stop_signal"));
        return new CoreConfig.ProcessManagementSection(
                enabled,
                List.copyOf(command),
                Map.copyOf(environment),
                section.string("working_dir").map(Path::of),
                payloadFile,
                liveUpdate,
                stopSignal,
                seconds(section, "stop_timeout_seconds", 10),
                restart(section.section("restart")));
    }

    private static void requireSignal(String name, String path) throws ConfigException {
        if (ccc.core.os.Signals.number(name).isEmpty()) {
            throw ConfigException.at(path, "unknown signal '" + name + "'");
        }
    }

    private static CoreConfig.RestartSection restart(Section restart) throws ConfigException {
        String policy = restart.string("policy", "never");
        var parsed = switch (policy) {
            case "never" -> CoreConfig.RestartPolicy.NEVER;
            case "on-failure", "on_failure" -> CoreConfig.RestartPolicy.ON_FAILURE;
            case "always" -> CoreConfig.RestartPolicy.ALWAYS;
            default -> throw ConfigException.at(restart.pathOf("policy"), "expected never, on-failure or always, got '" + policy + "'");
        };
        long initial = restart.integer("backoff_initial_ms", 1000, 1, 3_600_000);
        long max = restart.integer("backoff_max_ms", 30_000, 1, 3_600_000);
        if (max < initial) {
            throw ConfigException.at(restart.pathOf("backoff_max_ms"), "must not be less than backoff_initial_ms (" + initial + ")");
        }
        return new CoreConfig.RestartSection(parsed, (int) restart.integer("max_retries", -1, -1, 1_000_000),
                Duration.ofMillis(initial), Duration.ofMillis(max));
    }

    private static CoreConfig.MetricsSection metrics(Section metrics) throws ConfigException {
        var network = metrics.section("network_monitoring");
        var process = metrics.section("process_monitoring");
        return new CoreConfig.MetricsSection(
                network.bool("enabled", true),
                network.string("interface"),
                process.bool("enabled", true));
    }

    private static CoreConfig.TrafficControlSection trafficControl(Section tc) throws ConfigException {
        return new CoreConfig.TrafficControlSection(
                tc.bool("enabled", false),
                tc.string("interface", "eth0"),
                tc.string("bandwidth_mbps_key", "bandwidth_limit_mbps"),
                defaultBandwidth(tc),
                tc.string("latency_ms_key", "latency_ms"),
                tc.number("default_latency_ms", 0, 0, 60_000),
                tc.string("jitter_ms_key", "jitter_ms"),
                tc.number("default_jitter_ms", 0, 0, 60_000),
                tc.string("loss_percent_key", "loss_percent"),
                tc.number("default_loss_percent", 0, 0, 100));
    }

    /** As the Python core v2.0: absent or 0, the workload's bandwidth is not limited unless a payload asks. */
    private static double defaultBandwidth(Section tc) throws ConfigException {
        String key = "default_bandwidth_mbps";
        String problem = "expected " + CoreConfig.TrafficControlSection.BANDWIDTH_RANGE + ", got " + Section.describe(tc.values().get(key));
        double mbps;
        try {
            mbps = tc.number(key, 0, 0, CoreConfig.TrafficControlSection.MAX_BANDWIDTH_MBPS);
        } catch (ConfigException e) {
            throw ConfigException.at(tc.pathOf(key), problem);
        }
        if (!CoreConfig.TrafficControlSection.validBandwidth(mbps)) {
            throw ConfigException.at(tc.pathOf(key), problem);
        }
        return mbps;
    }

    private static CoreConfig.PrivilegedCommandsSection privilegedCommands(Section section) throws ConfigException {
        String onError = section.string("on_error", "fail");
        if (!onError.equals("fail") && !onError.equals("warn")) {
            throw ConfigException.at(section.pathOf("on_error"), "expected fail or warn, got '" + onError + "'");
        }
        return new CoreConfig.PrivilegedCommandsSection(
                section.commandList("pre_start"),
                section.commandList("post_stop"),
                seconds(section, "timeout_seconds", 30),
                onError.equals("fail"));
    }

    /**
     * {@code showrunner_sdk}. The file and the port default to the SDK's own variables, read only
     * when the mode is on: a core managed over HTTP is never stopped by a variable it ignores.
     */
    private CoreConfig.ShowrunnerSdkSection showrunnerSdk(Section sdk, CoreConfig.ServerSection server) throws ConfigException {
        var defaults = CoreConfig.ShowrunnerSdkSection.OFF;
        boolean enabled = sdk.bool("enabled", false);
        String switched = environment.get(SDK_SWITCH);
        if (switched != null && !switched.isBlank()) {
            enabled = switch (switched.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "true", "1" -> true;
                case "false", "0" -> false;
                default -> throw ConfigException.at(SDK_SWITCH, "expected true or false, got '" + switched + "'");
            };
        }
        String fromEnvironment = enabled ? environment.get(SDK_CONFIG_PATH) : null;
        Path configPath = sdk.string("config_path").map(Path::of)
                .orElse(fromEnvironment != null && !fromEnvironment.isBlank() ? Path.of(fromEnvironment) : defaults.configPath());
        String portPath = sdk.pathOf("port");
        int port;
        if (sdk.has("port")) {
            port = (int) sdk.integer("port", defaults.port(), 0, 65535);
        } else if (enabled && environment.get(SDK_METRICS_PORT) != null) {
            portPath = SDK_METRICS_PORT;
            port = environmentPort(SDK_METRICS_PORT);
        } else {
            port = defaults.port();
        }
        if (enabled && port != 0 && port == server.port()) {
            throw ConfigException.at(portPath, "must differ from the control API's port " + server.port()
                    + ": both listen at once");
        }
        String lifecycle = sdk.string("lifecycle", defaults.lifecycle().wireName());
        var appLifecycle = java.util.Arrays.stream(CoreConfig.AppLifecycle.values())
                .filter(candidate -> candidate.wireName().equals(lifecycle)).findFirst()
                .orElseThrow(() -> ConfigException.at(sdk.pathOf("lifecycle"), "expected long-running or ephemeral, got '" + lifecycle + "'"
                        + (lifecycle.equals("recurrent") || lifecycle.equals("scheduled")
                        ? "; Showrunner starts a " + lifecycle + " app's container for each run, which is ephemeral to the core" : "")));
        return new CoreConfig.ShowrunnerSdkSection(enabled, configPath, sdk.string("host", defaults.host()), port,
                sdk.string("app_name"), sdk.string("app_version"), appLifecycle);
    }

    private int environmentPort(String variable) throws ConfigException {
        return port(variable, environment.get(variable));
    }

    /**
     * The port an environment variable names, as the core reads it: {@code CCC_PORT} for the core, its probe and
     * {@code ccc ctl}, {@code SHOWRUNNER_METRICS_PORT} for the SDK's server.
     */
    public static int port(String variable, String value) throws ConfigException {
        try {
            int port = Integer.parseInt(value.strip());
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // Refused below with the value it was.
        }
        throw ConfigException.at(variable, "expected a port from 0 to 65535, got '" + value + "'");
    }

    private Optional<Path> adaptersDir(Section root) throws ConfigException {
        root.accept("adapters_dir");
        String fromEnvironment = environment.get("CCC_ADAPTERS_DIR");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return Optional.of(Path.of(fromEnvironment));
        }
        return root.string("adapters_dir").map(Path::of);
    }
}
