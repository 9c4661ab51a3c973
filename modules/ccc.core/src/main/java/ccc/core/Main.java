package ccc.core;

import ccc.api.Adapter;
import ccc.api.AdapterConfig;
import ccc.core.adapters.AdapterCatalog;
import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.http.ApiServer;
import ccc.core.json.Json;
import ccc.core.log.FatalErrors;
import ccc.core.lifecycle.Phase;
import ccc.core.log.Level;
import ccc.core.log.Log;
import ccc.core.log.Timeline;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.StartupPages;
import ccc.core.process.UserDirectory;
import ccc.core.sdk.AppIdentity;
import ccc.core.sdk.AppSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** The launcher: reads flags and environment, loads the configuration, binds the adapter, serves until a signal ends it. */
public final class Main {

    private static final Log LOG = Log.named("core");
    private static final String USAGE = """
            Usage: ccc [--config PATH] [--check-config]
                   ccc appspec [--config PATH]
                   ccc ctl [--url URL] [--token-file FILE] [--json] COMMAND ...

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

              appspec          print a skeleton of Showrunner's .showrunner/appspec.json for the
                               configured adapter (showrunner_sdk and the payload keys it needs)
              ctl              talk to a running core: status, start, stop, update, signal, logs,
                               events, metrics (ccc ctl --help)

            Environment: CCC_CONFIG_FILE, CCC_HOST, CCC_PORT, CCC_ADAPTERS_DIR, LOG_LEVEL (DEBUG, INFO, WARNING, ERROR);
            CCC_SHOWRUNNER_SDK (true or false: showrunner_sdk.enabled), SHOWRUNNER_CONFIG_PATH, SHOWRUNNER_METRICS_PORT.
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv()));
    }

    /** Starts the core; returns an exit code only when it does not start. */
    static int run(String[] args, Map<String, String> environment) {
        if (args.length > 0 && args[0].equals("appspec")) {
            return appSpec(java.util.Arrays.copyOfRange(args, 1, args.length), environment);
        }
        if (args.length > 0 && args[0].equals("ctl")) {
            // UTF-8 whatever the locale (a container has none), buffered: the streams flush as they go.
            var out = new java.io.PrintStream(new java.io.BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16),
                    false, java.nio.charset.StandardCharsets.UTF_8);
            var err = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, java.nio.charset.StandardCharsets.UTF_8);
            return ccc.core.ctl.Ctl.run(java.util.Arrays.copyOfRange(args, 1, args.length), environment, System.in, out, err);
        }
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
        if (!checkOnly) {
            // Beside the configuration's loading, on the second CPU: what the first answer would wait for.
            ApiServer.prepareInBackground();
        }
        try {
            Log.configure(Level.parse(environment.getOrDefault("LOG_LEVEL", "INFO")), Log.Format.TEXT);
        } catch (IllegalArgumentException e) {
            return fail(e.getMessage());
        }
        // From main on; the JVM's own boot before it is what `ccc --version` takes.
        Timeline startup = Timeline.begin("startup");
        try {
            Path configPath = locateConfig(configFlag, environment);
            if (trainingRun) {
                environment = new java.util.HashMap<>(environment);
                environment.put("CCC_HOST", "127.0.0.1");
                environment.put("CCC_PORT", "0");
            }
            CoreConfig config = new ConfigLoader(environment).load(configPath);
            Log.configure(Log.threshold(), config.log().format());
            startup.step("config");
            Optional<Adapter> adapter = Optional.empty();
            String adapterName = adapterNameOf(config);
            Optional<Path> adaptersDir = config.adaptersDir().or(Main::imageAdaptersDir);
            if (config.adapter().className().isPresent()) {
                var catalog = AdapterCatalog.load(adaptersDir);
                adapter = Optional.of(catalog.create(adapterName));
                try {
                    adapter.get().configure(new AdapterConfig(config.adapter().values()));
                } catch (RuntimeException e) {
                    return fail("adapter '" + adapterName + "' rejected its configuration: " + Log.describe(e), checkOnly ? 1 : 2);
                }
            }
            startup.step("adapter");
            if (checkOnly) {
                System.out.println(describe(config, adapterName, adapter, adaptersDir, UserDirectory.system()));
                return 0;
            }
            holdSignalsWhileStarting();
            Core core = Core.start(config, adapter, adapterName, PrivilegeDrop.system(), startup);
            startup.end();
            // The training run goes this way too, so that the cache holds what it loads and links: the lambdas it makes
            // were otherwise spun at each start, interpreted, while the first answers were served.
            handleSignals(core);
            serveHeldSignal();
            // kill(2), which the handler needs, is linked in the background once the core listens, before any launch.
            FatalErrors.install(core.lifecycle()::endWorkloadNow);
            var startupPages = StartupPages.releaseWhenQuiet(core::lastAnsweredNanos);
            if (trainingRun) {
                int trained = train(core) + trainSupervision(environment);
                // What a core does once it is first quiet.
                startupPages.join();
                return trained;
            }
            return serve(core);
        } catch (ConfigException | AdapterCatalog.AdapterException e) {
            return fail(e.getMessage(), checkOnly ? 1 : 2);
        } catch (java.io.IOException e) {
            return fail("cannot listen: " + Log.describe(e));
        }
    }

    /** How long {@link #request} waits for a whole answer, connection included. */
    static final long REQUEST_TIMEOUT_MILLIS = 5000;

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

    /**
     * Starts, restarts and stops a config-only {@code sleep} workload a few times on a second
     * core, so that the cache also holds what a configuration with {@code process_management}
     * loads and the supervision path (launch, ending a tree, reaping). Where no {@code sleep}
     * can run, the starts fail and the cache holds the failure path instead: the training run
     * still succeeds.
     */
    private static int trainSupervision(Map<String, String> environment) {
        Path config = null;
        try {
            // Named by the process, not by Files.createTempFile: its SecureRandom and file attribute
            // classes would be recorded in the cache and loaded by every core.
            Path file = Path.of(System.getProperty("java.io.tmpdir"), "ccc-training-" + ProcessHandle.current().pid() + ".yaml");
            Files.writeString(file, """
                    process_management:
                      enabled: true
                      command: [sleep, '${seconds}']
                      stop_timeout_seconds: 5
                    """, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
            config = file;
            CoreConfig loaded = new ConfigLoader(environment).load(config);
            Core core = Core.start(loaded, Optional.empty(), adapterNameOf(loaded), PrivilegeDrop.system());
            for (int round = 0; round < 5; round++) {
                request(core.port(), "POST", "/api/start", "{\"seconds\": \"60\"}");
                awaitPhase(core, Phase.RUNNING, Phase.FAILED);
                request(core.port(), "POST", "/api/start", "{\"seconds\": \"61\"}");
                awaitPhase(core, Phase.RUNNING, Phase.FAILED);
                request(core.port(), "GET", "/api/metrics", null);
                request(core.port(), "POST", "/api/stop", "{}");
                awaitPhase(core, Phase.STOPPED, Phase.FAILED);
            }
            core.shutdown();
            return 0;
        } catch (ConfigException | java.io.IOException e) {
            return fail("training run: " + e.getMessage(), 1);
        } finally {
            if (config != null) {
                try {
                    Files.deleteIfExists(config);
                } catch (java.io.IOException e) {
                    // A temporary file of the build's.
                }
            }
        }
    }

    /** Waits, five seconds at most, until the lifecycle is in one of {@code phases}. */
    private static void awaitPhase(Core core, Phase... phases) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (!List.of(phases).contains(core.lifecycle().snapshot().phase()) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** {@code --probe}: whether the local core answers its health check. */
    private static int probe(Map<String, String> environment) {
        int port;
        try {
            port = ConfigLoader.port("CCC_PORT", environment.getOrDefault("CCC_PORT", "8080"));
        } catch (ConfigException e) {
            return fail(e.getMessage(), 1);
        }
        int status = request(port, "GET", "/api/health", null);
        if (status != 200) {
            System.err.println("ccc: /api/health on port " + port + " answered " + (status < 0 ? "nothing" : status));
            return 1;
        }
        return 0;
    }

    /**
     * One HTTP/1.1 request to the core on loopback; the status code, or -1 when nothing answered
     * within {@link #REQUEST_TIMEOUT_MILLIS}. The training run's requests go through here, and every
     * class they load is recorded in the AOT cache and loaded at each start of the core, which
     * serves HTTP but is no client of it: so not {@code HttpURLConnection} (the JDK's HTTP client is
     * about 60 classes more), nor {@code java.net.Socket} (its socket implementation, proxy
     * selection and pollers, about 50), but a socket channel and a selector, as the core's server
     * has loaded already.
     */
    private static int request(int port, String method, String path, String body) {
        byte[] content = body == null ? new byte[0] : body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n"
                + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n") + "\r\n";
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(REQUEST_TIMEOUT_MILLIS);
        // A connection on loopback is accepted or refused at once, so the connect blocks.
        try (var channel = java.nio.channels.SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", port));
                var selector = java.nio.channels.Selector.open()) {
            for (var out = java.nio.ByteBuffer.wrap(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII)); out.hasRemaining(); ) {
                channel.write(out);
            }
            for (var out = java.nio.ByteBuffer.wrap(content); out.hasRemaining(); ) {
                channel.write(out);
            }
            channel.configureBlocking(false);
            channel.register(selector, java.nio.channels.SelectionKey.OP_READ);
            var answer = new java.io.ByteArrayOutputStream();
            var in = java.nio.ByteBuffer.allocate(8192);
            // To the end of the answer, as a client does: the server's path is the one every client takes.
            for (int read = 0; read >= 0; ) {
                long left = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return -1;
                }
                selector.select(left);
                selector.selectedKeys().clear();
                read = channel.read(in.clear());
                answer.write(in.array(), 0, Math.max(read, 0));
            }
            // The status line: "HTTP/1.1 200 OK".
            String status = answer.toString(java.nio.charset.StandardCharsets.US_ASCII);
            return status.length() >= 12 && status.startsWith("HTTP/1.1 ") ? Integer.parseInt(status.substring(9, 12)) : -1;
        } catch (java.io.IOException | NumberFormatException e) {
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

    /** How the adapter is named in {@code /api/status}: its class, or {@code process_management} when the core runs the workload alone. */
    private static String adapterNameOf(CoreConfig config) {
        return config.adapter().className().orElse("process_management");
    }

    private static Optional<Path> imageAdaptersDir() {
        return Optional.of(Path.of(System.getProperty("java.home"), "adapters"));
    }

    /** What a signal the core catches does. */
    private enum OnSignal {
        /** The stop sequence, then exit 0. */
        SHUT_DOWN,
        /** With {@code showrunner_sdk} on, the SDK's reload of its configuration file; otherwise a log line and nothing else. */
        RELOAD,
        /** A log line, and nothing else. */
        IGNORE
    }

    /**
     * Every catchable signal whose default action would end the JVM, and what it does instead:
     * the one place that gives a signal its meaning. TERM and INT are how orchestrators and
     * terminals ask the core to end; the others end a process by default, so they get the same
     * orderly stop rather than an exit that leaves the workload running. HUP is how Showrunner's
     * SDK asks an app to re-read its configuration: with {@code showrunner_sdk} on it does that;
     * otherwise (a terminal hanging up) it is logged and ignored. QUIT (a thread dump), USR2 and
     * the fault signals (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS) belong to the JVM; KILL and STOP
     * cannot be caught, and the JVM cannot name the real-time signals.
     */
    private static final Map<String, OnSignal> SIGNALS = Map.ofEntries(
            Map.entry("TERM", OnSignal.SHUT_DOWN), Map.entry("INT", OnSignal.SHUT_DOWN),
            Map.entry("HUP", OnSignal.RELOAD),
            Map.entry("USR1", OnSignal.SHUT_DOWN), Map.entry("ALRM", OnSignal.SHUT_DOWN),
            Map.entry("VTALRM", OnSignal.SHUT_DOWN), Map.entry("PROF", OnSignal.SHUT_DOWN),
            Map.entry("IO", OnSignal.SHUT_DOWN), Map.entry("PWR", OnSignal.SHUT_DOWN),
            Map.entry("XCPU", OnSignal.SHUT_DOWN), Map.entry("STKFLT", OnSignal.SHUT_DOWN));

    /**
     * The signals the JVM leaves ignored when the core was started with them ignored (nohup
     * ignores HUP, a script's background job INT): it installs no handler for them then, and a
     * core that could not hear TERM or INT could not be stopped in order, nor reload on HUP. The
     * core gives them their default action back and handles them as the table says; the JVM
     * installs the others whatever their inherited action.
     */
    private static final java.util.Set<String> JVM_KEEPS_IGNORED = java.util.Set.of("HUP", "INT", "TERM");

    // The signals of JVM_KEEPS_IGNORED the core was started with ignored and now handles, for the log.
    private static final java.util.Set<String> NO_LONGER_IGNORED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    // Set once, by the first signal that ends the core or by the end of an ephemeral workload: whichever comes first exits.
    private static final java.util.concurrent.atomic.AtomicBoolean SHUTTING_DOWN = new java.util.concurrent.atomic.AtomicBoolean();

    // While the core starts: null, or the first signal that ends the core, held; once it has started, STARTED.
    private static final java.util.concurrent.atomic.AtomicReference<Object> HELD = new java.util.concurrent.atomic.AtomicReference<>();
    private static final Object STARTED = new Object();

    /**
     * Holds the signals that end the core from the moment it begins to start: the core answers
     * probes as soon as it listens, well before {@link #handleSignals} can stop it in order, and
     * the JVM's own handling would exit with 128 plus the signal's number.
     */
    private static void holdSignalsWhileStarting() {
        SignalHandler hold = signal -> {
            // The JVM runs a handler on a thread of its own, which may come after the core has started: it is served then.
            if (!HELD.compareAndSet(null, signal) && HELD.get() == STARTED) {
                Signal.raise(signal);
            }
        };
        SIGNALS.forEach((name, action) -> {
            if (action == OnSignal.SHUT_DOWN) {
                try {
                    handle(name, hold);
                } catch (IllegalArgumentException e) {
                    // The JVM keeps this one; handleSignals says so.
                }
            }
        });
    }

    /** Sends a signal held while the core started to the core again, now that {@link #handleSignals} serves it. */
    private static void serveHeldSignal() {
        if (HELD.getAndSet(STARTED) instanceof Signal held) {
            Signal.raise(held);
        }
    }

    private static void handleSignals(Core core) {
        SignalHandler shutDown = signal -> {
            if (SHUTTING_DOWN.compareAndSet(false, true)) {
                LOG.info("signal received", "signal", "SIG" + signal.getName());
                Thread.ofPlatform().name("shutdown").start(() -> {
                    core.shutdown();
                    // Exit 0 after an orderly stop: SIGTERM is how every orchestrator asks a container to end.
                    Runtime.getRuntime().halt(0);
                });
            }
        };
        SignalHandler ignore = signal -> LOG.info("signal received and ignored", "signal", "SIG" + signal.getName());
        SignalHandler reload = core.showrunnerSdk().<SignalHandler>map(sdk -> signal -> {
            LOG.info("signal received", "signal", "SIG" + signal.getName(), "action", "reload the Showrunner SDK configuration");
            sdk.reload();
        }).orElse(ignore);
        SIGNALS.forEach((name, action) -> {
            try {
                handle(name, switch (action) {
                    case SHUT_DOWN -> shutDown;
                    case RELOAD -> reload;
                    case IGNORE -> ignore;
                });
            } catch (IllegalArgumentException e) {
                // The JVM keeps this one (under -Xrs, say): it keeps the JVM's own meaning.
                LOG.warn("signal left to the JVM", "signal", "SIG" + name, "reason", e.getMessage());
            }
        });
        if (!NO_LONGER_IGNORED.isEmpty()) {
            LOG.info("signals ignored when the core started are handled as any other",
                    "signals", String.join(",", NO_LONGER_IGNORED.stream().map(name -> "SIG" + name).sorted().toList()));
        }
    }

    /** Installs {@code handler} for the signal {@code name}, also when the core was started with it ignored ({@link #JVM_KEEPS_IGNORED}). */
    private static void handle(String name, SignalHandler handler) {
        var signal = new Signal(name);
        if (Signal.handle(signal, handler) == SignalHandler.SIG_IGN && JVM_KEEPS_IGNORED.contains(name)
                && ccc.core.process.Native.restoreDefaultAction(signal.getNumber())) {
            Signal.handle(signal, handler);
            NO_LONGER_IGNORED.add(name);
        }
    }

    /**
     * Serves until a signal ends the core; with {@code showrunner_sdk.lifecycle: ephemeral}, also
     * until the workload ends for good, then stops and returns the workload's exit code.
     */
    private static int serve(Core core) {
        // Without a lambda: the training run does not serve, so one here would be spun at each start.
        var ephemeral = core.showrunnerSdk().isPresent() ? core.showrunnerSdk().get().ephemeralExitCode()
                : Optional.<java.util.concurrent.CompletionStage<Integer>>empty();
        if (ephemeral.isEmpty()) {
            return keepRunning();
        }
        int code = ephemeral.get().toCompletableFuture().join();
        if (!SHUTTING_DOWN.compareAndSet(false, true)) {
            // A signal's shutdown is under way, and it exits.
            return keepRunning();
        }
        LOG.info("ephemeral workload ended for good; the core stops and exits", "exit_code", code);
        core.shutdown();
        return code;
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
    static String describe(CoreConfig config, String adapterName, Optional<Adapter> adapter, Optional<Path> adaptersDir,
                           UserDirectory users) {
        var lines = new java.util.ArrayList<String>();
        lines.add("configuration: " + config.source());
        adapter.ifPresent(bound -> lines.add("adapter: " + adapterName + " (module " + bound.getClass().getModule().getName() + ")"));
        adaptersDir.ifPresent(dir -> lines.add("adapters directory: " + dir + (Files.isDirectory(dir) ? "" : " (absent)")));
        var process = config.processManagement();
        lines.add("process_management: " + (process.enabled() ? "enabled, command " + process.command() : "off"));
        // Warnings, not failures: the image that runs the core may have the user this machine lacks, or have it otherwise.
        lines.add("run_as_user: " + config.adapter().runAsUser().map(user -> describeRunAsUser(user, users)).orElse("(none)"));
        lines.add("privileged_commands: " + config.privilegedCommands().preStart().size() + " pre_start, "
                + config.privilegedCommands().postStop().size() + " post_stop");
        lines.add("traffic_control: " + (config.trafficControl().enabled() ? "on " + config.trafficControl().networkInterface() : "off"));
        lines.add("listens on: " + config.server().host() + ":" + config.server().port()
                + (config.server().authToken().isPresent() ? " (bearer token required)" : ""));
        var sdk = config.showrunnerSdk();
        var app = AppIdentity.of(sdk, adapterName, Core.version());
        lines.add("showrunner_sdk: " + (sdk.enabled()
                ? "on, configuration file " + sdk.configPath() + ", /healthz and /metrics on " + sdk.host() + ":" + sdk.port()
                        + ", " + sdk.lifecycle().wireName() + ", app_info name=" + app.name() + " version=" + app.version()
                        + ", SIGHUP reloads the file"
                : "off"));
        lines.add("configuration OK");
        return String.join("\n", lines);
    }

    /** {@code run_as_user} as {@code --check-config} shows it: the name, and what a start as root would find wrong with it here. */
    private static String describeRunAsUser(String user, UserDirectory users) {
        var account = users.find(user);
        if (account.isEmpty()) {
            return user + " (warning: no such user on this machine; a start as root fails here with run_as_user '" + user + "' does not exist)";
        }
        return PrivilegeDrop.refusal(user, account.get())
                .map(reason -> user + " (warning: a start as root is refused here: " + reason + ")")
                .orElse(user);
    }

    /** {@code ccc appspec [--config PATH]}: a skeleton of Showrunner's {@code appspec.json} for this configuration, on stdout. */
    private static int appSpec(String[] args, Map<String, String> environment) {
        Optional<String> configFlag = Optional.empty();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                configFlag = Optional.of(args[++i]);
            } else if (args[i].startsWith("--config=")) {
                configFlag = Optional.of(args[i].substring("--config=".length()));
            } else {
                return fail("appspec: unknown argument '" + args[i] + "'; usage: ccc appspec [--config PATH]", 1);
            }
        }
        // The skeleton is stdout; warnings about the configuration go beside it, not into it.
        Log.redirect(System.err);
        try {
            Log.configure(Level.parse(environment.getOrDefault("LOG_LEVEL", "INFO")), Log.Format.TEXT);
            CoreConfig config = new ConfigLoader(environment).load(locateConfig(configFlag, environment));
            String adapterName = adapterNameOf(config);
            System.out.println(new String(Json.writeIndented(AppSpec.skeleton(config, adapterName, Core.version())),
                    java.nio.charset.StandardCharsets.UTF_8));
            return 0;
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(e.getMessage(), 1);
        } finally {
            Log.redirect(System.out);
        }
    }

    private static int fail(String message) {
        return fail(message, 2);
    }

    private static int fail(String message, int status) {
        System.err.println("ccc: " + message);
        return status;
    }
}
