package ccc.core;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.core.adapters.AdapterCatalog;
import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.log.FatalErrors;
import ccc.core.log.Level;
import ccc.core.log.Log;
import ccc.core.process.Native;
import ccc.core.process.PrivilegeDrop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** The launcher: reads flags and environment, loads the configuration, binds the adapter, serves until SIGTERM or SIGINT. */
public final class Main {

    private static final Log LOG = Log.named("core");
    private static final String USAGE = """
            Usage: ccc [--config PATH] [--check-config]

            Serves the Container Control API for one workload.

              --config PATH    the configuration file; else env CCC_CONFIG_FILE, else ./config.yaml,
                               else the example configuration built into the runtime image
              --check-config   load the configuration and the adapter, print what was found, and
                               exit 0, or 1 with the reason; starts nothing
              --training-run   start on a loopback port, answer a few hundred requests to itself,
                               stop and exit 0: the build runs it to record an ahead-of-time cache
              --probe          GET /api/health of the core on CCC_PORT (or 8080) on loopback: exit 0
                               when it answers 200, else 1; a health check that needs no shell
              --version        print the version and exit
              --help           print this help and exit

            Environment: CCC_CONFIG_FILE, CCC_HOST, CCC_PORT, CCC_ADAPTERS_DIR, LOG_LEVEL (DEBUG, INFO, WARNING, ERROR).
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv()));
    }

    /** Starts the core; returns an exit code only when it does not start. */
    static int run(String[] args, Map<String, String> environment) {
        Optional<String> configFlag = Optional.empty();
        boolean checkOnly = false;
        boolean trainingRun = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return 0;
                }
                case "--version" -> {
                    System.out.println("ccc " + Core.version());
                    return 0;
                }
                case "--check-config" -> checkOnly = true;
                case "--probe" -> {
                    return probe(environment);
                }
                case "--training-run" -> trainingRun = true;
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        return fail("--config needs a path");
                    }
                    configFlag = Optional.of(args[++i]);
                }
                default -> {
                    if (args[i].startsWith("--config=")) {
                        configFlag = Optional.of(args[i].substring("--config=".length()));
                    } else {
                        return fail("unknown argument '" + args[i] + "'; see --help");
                    }
                }
            }
        }
        try {
            Log.configure(Level.parse(environment.getOrDefault("LOG_LEVEL", "INFO")), Log.Format.TEXT);
        } catch (IllegalArgumentException e) {
            return fail(e.getMessage());
        }
        try {
            Path configPath = locateConfig(configFlag, environment);
            if (trainingRun) {
                environment = new java.util.HashMap<>(environment);
                environment.put("CCC_HOST", "127.0.0.1");
                environment.put("CCC_PORT", "0");
            }
            CoreConfig config = new ConfigLoader(environment).load(configPath);
            Log.configure(Log.threshold(), config.log().format());
            Optional<Adapter> adapter = Optional.empty();
            String adapterName = "process_management";
            Optional<Path> adaptersDir = config.adaptersDir().or(Main::imageAdaptersDir);
            if (config.adapter().className().isPresent()) {
                var catalog = AdapterCatalog.load(adaptersDir);
                adapterName = config.adapter().className().get();
                adapter = Optional.of(catalog.create(adapterName));
                try {
                    adapter.get().configure(new AdapterConfig(config.adapter().values()));
                } catch (RuntimeException e) {
                    return fail("adapter '" + adapterName + "' rejected its configuration: " + Log.describe(e), checkOnly ? 1 : 2);
                }
            }
            if (checkOnly) {
                System.out.println(describe(config, adapterName, adapter, adaptersDir));
                return 0;
            }
            Core core = Core.start(config, adapter, adapterName, PrivilegeDrop.system());
            if (trainingRun) {
                return train(core);
            }
            handleTermination(core);
            // kill(2) is linked now, while memory is plentiful: the fatal-error handler needs it at once.
            Native.kill(ProcessHandle.current().pid(), 0);
            FatalErrors.install(core.lifecycle()::endWorkloadNow);
            return keepRunning();
        } catch (ConfigException | AdapterCatalog.AdapterException e) {
            return fail(e.getMessage(), checkOnly ? 1 : 2);
        } catch (java.io.IOException e) {
            return fail("cannot listen: " + Log.describe(e));
        }
    }

    /** Exercises the API's common paths, so that an ahead-of-time cache recorded meanwhile holds what they load. */
    private static int train(Core core) {
        List<String[]> calls = List.of(
                new String[] {"GET", "/api/health", null}, new String[] {"GET", "/api/ready", null},
                new String[] {"GET", "/api/status", null}, new String[] {"GET", "/api/metrics", null},
                new String[] {"GET", "/metrics", null}, new String[] {"GET", "/openapi.json", null},
                new String[] {"GET", "/api/logs?tail=10", null}, new String[] {"POST", "/api/stop", "{}"},
                new String[] {"POST", "/api/update", "{\"x\": 1}"}, new String[] {"POST", "/api/start", "not json"},
                new String[] {"GET", "/no/such/path", null});
        int answered = 0;
        for (int round = 0; round < 40; round++) {
            for (String[] call : calls) {
                if (request(core.port(), call[0], call[1], call[2]) > 0) {
                    answered++;
                }
            }
        }
        core.shutdown();
        System.out.println("training run: " + answered + " requests answered");
        return answered > 0 ? 0 : 1;
    }

    /** {@code --probe}: whether the local core answers its health check. */
    private static int probe(Map<String, String> environment) {
        int port;
        try {
            port = Integer.parseInt(environment.getOrDefault("CCC_PORT", "8080").trim());
        } catch (NumberFormatException e) {
            return fail("CCC_PORT is not a port: " + environment.get("CCC_PORT"), 1);
        }
        int status = request(port, "GET", "/api/health", null);
        if (status != 200) {
            System.err.println("ccc: /api/health on port " + port + " answered " + (status < 0 ? "nothing" : status));
            return 1;
        }
        return 0;
    }

    /** One request to the core on loopback; the status code, or -1 when nothing answered. */
    private static int request(int port, String method, String path, String body) {
        try {
            var connection = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
            connection.setRequestMethod(method);
            connection.setConnectTimeout(2000);
            connection.setReadTimeout(5000);
            if (body != null) {
                connection.setDoOutput(true);
                connection.setRequestProperty("Content-Type", "application/json");
                connection.getOutputStream().write(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            int status = connection.getResponseCode();
            var in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
            if (in != null) {
                in.readAllBytes();
            }
            return status;
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    /** {@code --config}, else {@code CCC_CONFIG_FILE}, else {@code ./config.yaml}, else the image's built-in example. */
    static Path locateConfig(Optional<String> flag, Map<String, String> environment) throws ConfigException {
        if (flag.isPresent()) {
            return Path.of(flag.get());
        }
        String fromEnvironment = environment.get("CCC_CONFIG_FILE");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return Path.of(fromEnvironment);
        }
        Path local = Path.of("config.yaml");
        if (Files.exists(local)) {
            return local;
        }
        Path builtIn = Path.of(System.getProperty("java.home"), "conf", "ccc", "config.yaml");
        if (Files.exists(builtIn)) {
            return builtIn;
        }
        throw new ConfigException("no configuration: pass --config PATH, set CCC_CONFIG_FILE, or put config.yaml in the working directory");
    }

    private static Optional<Path> imageAdaptersDir() {
        return Optional.of(Path.of(System.getProperty("java.home"), "adapters"));
    }

    private static void handleTermination(Core core) {
        Runnable shutdown = () -> {
            core.shutdown();
            // Exit 0 after an orderly stop: SIGTERM is how every orchestrator asks a container to end.
            Runtime.getRuntime().halt(0);
        };
        var once = new java.util.concurrent.atomic.AtomicBoolean();
        SignalHandler handler = signal -> {
            if (once.compareAndSet(false, true)) {
                LOG.info("signal received", "signal", "SIG" + signal.getName());
                Thread.ofPlatform().name("shutdown").start(shutdown);
            }
        };
        Signal.handle(new Signal("TERM"), handler);
        Signal.handle(new Signal("INT"), handler);
    }

    private static int keepRunning() {
        try {
            Thread.currentThread().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** What {@code --check-config} found, one item a line. */
    static String describe(CoreConfig config, String adapterName, Optional<Adapter> adapter, Optional<Path> adaptersDir) {
        var lines = new java.util.ArrayList<String>();
        lines.add("configuration: " + config.source());
        adapter.ifPresent(bound -> lines.add("adapter: " + adapterName + " (module " + bound.getClass().getModule().getName() + ")"));
        adaptersDir.ifPresent(dir -> lines.add("adapters directory: " + dir + (Files.isDirectory(dir) ? "" : " (absent)")));
        var process = config.processManagement();
        lines.add("process_management: " + (process.enabled() ? "enabled, command " + process.command() : "off"));
        lines.add("run_as_user: " + config.adapter().runAsUser().orElse("(none)"));
        lines.add("privileged_commands: " + config.privilegedCommands().preStart().size() + " pre_start, "
                + config.privilegedCommands().postStop().size() + " post_stop");
        lines.add("traffic_control: " + (config.trafficControl().enabled() ? "on " + config.trafficControl().networkInterface() : "off"));
        lines.add("listens on: " + config.server().host() + ":" + config.server().port()
                + (config.server().authToken().isPresent() ? " (bearer token required)" : ""));
        lines.add("configuration OK");
        return String.join("\n", lines);
    }

    private static int fail(String message) {
        return fail(message, 2);
    }

    private static int fail(String message, int status) {
        System.err.println("ccc: " + message);
        return status;
    }
}
