package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.ProcessLauncher;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the workload can get from the core, on the runtime image run as root beside a workload
 * that runs as a real user: none of the core's CCC_* variables (its API token among them), by any
 * of the three ways a workload is started; no life after the core's, for it or for the helper
 * waiting to become the next workload; no way into that helper (a signal, its environment, its
 * command pipe); and, through the example adapter's stats file, neither a stuck or dead core nor
 * a look at root's files.
 */
class WorkloadIsolationIT {

    private static final String USER = "cccw" + ThreadLocalRandom.current().nextInt(10_000, 99_999);
    private static final String TOKEN = "core-token-" + ThreadLocalRandom.current().nextInt(1_000_000, 9_999_999);
    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");
    private static final Pattern PHASE = Pattern.compile("\"phase\":\"(\\w+)\"");
    /** The core's own environment beside the test's: its token, another CCC_ variable, and site variables. */
    private static final Map<String, String> CORE_ENVIRONMENT = Map.of(
            "CCC_API_TOKEN", TOKEN, "CCC_X", "the core's alone", "SITE_VAR", "site", "OTHER_VAR", "other",
            "LANG", "C.UTF-8", "TZ", "UTC", "LC_TIME", "C.UTF-8", "PATH", "/usr/local/bin:/usr/bin:/bin:/opt/site/bin");
    private static final String ENV_ADAPTER = """
            package com.example.env;

            import ccc.api.Adapter;
            import ccc.api.AdapterContext;
            import ccc.api.Launch;
            import ccc.api.Payload;
            import ccc.api.Workload;
            import java.util.List;

            public final class EnvAdapter implements Adapter {
                private Workload workload;

                @Override
                public Workload start(Payload payload, AdapterContext context) throws Exception {
                    List<String> command = List.of("sleep", payload.require("seconds"));
                    if (payload.string("via").orElse("").equals("ensureUser")) {
                        Process process = new ProcessBuilder(context.ensureUser(command))
                                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                        workload = Workload.of(process);
                    } else {
                        workload = context.launch(Launch.of(command).withEnvironment("FROM_LAUNCH", "yes"));
                    }
                    return workload;
                }

                @Override
                public void stop() {
                    workload.pid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy));
                }
            }
            """;

    private final String marker = "9" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";

    @TempDir
    Path work;

    private ImageProcess core;

    @BeforeAll
    static void createTheWorkloadsUser() throws Exception {
        Requirements.require(ProcTable.isRoot(), "the workload's user is created and dropped to as root (run the tests as root to cover it)");
        run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--home-dir", "/home/" + USER, USER);
    }

    @AfterAll
    static void removeTheUser() throws Exception {
        if (ProcTable.isRoot()) {
            run("userdel", USER);
        }
    }

    @BeforeEach
    void openTheWorkDirectory() throws IOException {
        // The workload's user (and, in one test, the core as that user) reads configuration and flows here.
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void stopTheCore() throws IOException {
        if (core != null) {
            core.close();
        }
        ProcTable.withArgument(marker).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private static String run(String... command) throws IOException, InterruptedException {
        var process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (process.waitFor() != 0 && !command[0].equals("userdel")) {
            throw new AssertionError(String.join(" ", command) + ": " + output);
        }
        return output;
    }

    private ImageProcess launch(String config, Map<String, String> environment) throws IOException {
        Files.writeString(work.resolve("config.yaml"), config);
        Files.setPosixFilePermissions(work.resolve("config.yaml"), PosixFilePermissions.fromString("rw-r--r--"));
        core = ImageProcess.launch(work, environment);
        core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
        return core;
    }

    private ImageProcess.Reply request(String method, String path, String json) throws IOException {
        return ImageProcess.request(core.host, core.port, method, path, json, TOKEN);
    }

    private long startAndAwaitPid(String payload) throws IOException {
        assertEquals(200, request("POST", "/api/start", payload).status());
        Instant deadline = Instant.now().plusSeconds(20);
        String status = "";
        while (Instant.now().isBefore(deadline)) {
            status = request("GET", "/api/status", null).body();
            Matcher phase = PHASE.matcher(status);
            Matcher pid = PID.matcher(status);
            if (phase.find() && phase.group(1).equals("running") && pid.find()) {
                return Long.parseLong(pid.group(1));
            }
            ImageProcess.sleep(20);
        }
        throw new AssertionError("never running: " + status + "\n" + core.output());
    }

    /**
     * The environment {@code pid} was exec'd with, once it runs the workload's command: an adapter's own process
     * ({@code ensureUser}) is reported running while {@code ccc-exec} may still be setting it up, and until its exec
     * {@code environ} shows the helper's own, which its exec leaves behind.
     */
    private Map<String, String> environmentOf(long pid) throws IOException {
        Path commandLine = Path.of("/proc", Long.toString(pid), "cmdline");
        Instant deadline = Instant.now().plusSeconds(10);
        while (!new String(Files.readAllBytes(commandLine), StandardCharsets.UTF_8).contains(marker) && Instant.now().isBefore(deadline)) {
            ImageProcess.sleep(5);
        }
        var environment = new TreeMap<String, String>();
        for (String entry : new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")), StandardCharsets.UTF_8).split("\0")) {
            if (!entry.isEmpty()) {
                environment.put(entry.substring(0, entry.indexOf('=')), entry.substring(entry.indexOf('=') + 1));
            }
        }
        return environment;
    }

    /** The base a workload of {@code user} gets from this core (the test's environment with CORE_ENVIRONMENT over it), and its own variables. */
    private static Map<String, String> expectedEnvironment(String user, Map<String, String> own) {
        var core = new HashMap<>(System.getenv());
        core.putAll(CORE_ENVIRONMENT);
        var expected = new TreeMap<String, String>(own);
        core.forEach((name, value) -> {
            if (name.startsWith("LC_") || name.equals("LANG") || name.equals("TZ") || name.equals("PATH") || name.equals("SITE_VAR")) {
                expected.put(name, value);
            }
        });
        expected.putAll(Map.of("HOME", "/home/" + user, "USER", user, "LOGNAME", user));
        return expected;
    }

    private Path adapterJar() throws IOException {
        Path adapters = Files.createDirectories(work.resolve("adapters"));
        AdapterJar.build(work, adapters.resolve("env.jar"), "com.example.env.EnvAdapter", ENV_ADAPTER);
        return adapters;
    }

    @Test
    void aProcessManagedWorkloadGetsTheBuiltEnvironmentAndNoCoreVariable() throws Exception {
        launch("""
                adapter:
                  run_as_user: %s
                  env_passthrough: [SITE_VAR]
                process_management:
                  enabled: true
                  command: [sleep, "${seconds}"]
                  env: {FROM_CONFIG: "${seconds}"}
                """.formatted(USER), CORE_ENVIRONMENT);
        long pid = startAndAwaitPid("{\"seconds\": \"" + marker + "\"}");
        assertEquals(expectedEnvironment(USER, Map.of("FROM_CONFIG", marker)), environmentOf(pid));
    }

    @Test
    void anAdaptersLaunchGetsTheBuiltEnvironmentAndNoCoreVariable() throws Exception {
        adapterJar();
        launch("""
                adapter:
                  class: com.example.env.EnvAdapter
                  run_as_user: %s
                  env_passthrough: [SITE_VAR]
                adapters_dir: adapters
                """.formatted(USER), CORE_ENVIRONMENT);
        long pid = startAndAwaitPid("{\"seconds\": \"" + marker + "\", \"via\": \"launch\"}");
        assertEquals(expectedEnvironment(USER, Map.of("FROM_LAUNCH", "yes")), environmentOf(pid));
    }

    @Test
    void anAdaptersOwnProcessThroughEnsureUserKeepsItsEnvironmentLessTheCoresVariables() throws Exception {
        adapterJar();
        launch("""
                adapter:
                  class: com.example.env.EnvAdapter
                  run_as_user: %s
                adapters_dir: adapters
                """.formatted(USER), CORE_ENVIRONMENT);
        long pid = startAndAwaitPid("{\"seconds\": \"" + marker + "\", \"via\": \"ensureUser\"}");
        Map<String, String> environment = environmentOf(pid);
        assertEquals(List.of(), environment.keySet().stream().filter(name -> name.startsWith("CCC_")).toList(), environment.toString());
        assertFalse(environment.containsValue(TOKEN));
        assertEquals("other", environment.get("OTHER_VAR"), "the rest of the environment is kept");
        assertEquals("/home/" + USER, environment.get("HOME"));
        assertEquals(USER, environment.get("USER"));
    }

    @Test
    void aCoreThatIsNotRootGivesItsWorkloadItsOwnUsersBase() throws Exception {
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  env_passthrough: [SITE_VAR]
                process_management:
                  enabled: true
                  command: [sleep, "%s"]
                """.formatted(marker));
        Files.setPosixFilePermissions(work.resolve("config.yaml"), PosixFilePermissions.fromString("rw-r--r--"));
        core = ImageProcess.launchUnder(List.of("setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups"), work, CORE_ENVIRONMENT);
        core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
        long pid = startAndAwaitPid("{}");
        assertEquals(expectedEnvironment(USER, Map.of()), environmentOf(pid));
        assertEquals(run("id", "-u", USER), Files.getAttribute(Path.of("/proc", Long.toString(pid)), "unix:uid").toString());
    }

    @Test
    void aWorkloadAndTheHelperWaitingForTheNextDieWithTheCoreEvenWhenTheCoreIsKilledWithSigkill() throws Exception {
        launch("""
                process_management:
                  enabled: true
                  command: [sleep, "%s"]
                """.formatted(marker), Map.of("CCC_API_TOKEN", TOKEN));
        long pid = startAndAwaitPid("{}");
        assertTrue(ProcTable.alive(pid));
        List<Long> helpers = awaitWaitingHelpers();

        core.process.destroyForcibly();
        Instant killed = Instant.now();
        Instant deadline = killed.plusSeconds(1);
        while ((ProcTable.alive(pid) || helpers.stream().anyMatch(ProcTable::alive)) && Instant.now().isBefore(deadline)) {
            ImageProcess.sleep(10);
        }
        assertFalse(ProcTable.alive(pid), "the workload outlived the core by a second");
        assertEquals(List.of(), helpers.stream().filter(ProcTable::alive).toList(), "helpers waiting for the next start outlived the core by a second");
        System.out.println("workload and waiting helper gone " + Duration.between(killed, Instant.now()).toMillis() + " ms after SIGKILL to the core");
    }

    @Test
    void theHelperWaitingForTheNextStartIsBeyondTheReachOfTheWorkloadsUser() throws Exception {
        Path injected = work.resolve("injected");
        launch("""
                adapter:
                  run_as_user: %s
                process_management:
                  enabled: true
                  command: [/bin/sh, -c, "${script}", "%s"]
                """.formatted(USER, marker), Map.of("CCC_API_TOKEN", TOKEN));
        startAndAwaitPid("{\"script\": \"exec sleep 60\"}");
        List<Long> helpers = awaitWaitingHelpers();
        for (long helper : helpers) {
            // What the workload's user would try: signal it, stop it, read its environment, write a command of its own down its
            // pipe, or a false refusal down its exec-status pipe, so that the next start fails with a reason of its choosing.
            String h = Long.toString(helper);
            String attempts = String.join("\n",
                    "(kill -0 " + h + ") 2>/dev/null && echo REACHED-signal",
                    "(kill -STOP " + h + ") 2>/dev/null && echo REACHED-stop",
                    "(cat /proc/" + h + "/environ >/dev/null) 2>/dev/null && echo REACHED-environ",
                    "(ls /proc/" + h + "/fd >/dev/null) 2>/dev/null && echo REACHED-descriptors",
                    "(printf '4\\0--\\0/bin/sh\\0-c\\0id -u > " + injected + "\\0' > /proc/" + h + "/fd/3) 2>/dev/null && echo REACHED-pipe",
                    "(printf 'cannot run forged' > /proc/" + h + "/fd/4) 2>/dev/null && echo REACHED-status",
                    "(exec 3>/proc/" + h + "/mem) 2>/dev/null && echo REACHED-memory",
                    "echo attempts-done");
            String outcome = run("setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups", "/bin/sh", "-c", attempts);
            assertEquals("attempts-done", outcome, "the workload's user reached the waiting helper " + helper);
            assertTrue(ProcTable.alive(helper));
        }

        // The next start is the configured command, in one of those helpers, as the workload's user; nothing injected ran.
        long next = startAndAwaitPid("{\"script\": \"sleep 61; true\"}");
        assertTrue(helpers.contains(next), "the next workload runs in a helper that waited: " + next + " not in " + helpers);
        assertEquals(List.of("-c", "sleep 61; true", marker), List.of(ProcessHandle.of(next).orElseThrow().info().arguments().orElseThrow()));
        assertEquals(run("id", "-u", USER), Files.getAttribute(Path.of("/proc", Long.toString(next)), "unix:uid").toString());
        assertFalse(Files.exists(injected), "a command written by the workload's user ran");
    }

    /** The helpers the core started ahead of its next workloads, once as many wait as it keeps ahead. */
    private List<Long> awaitWaitingHelpers() throws IOException {
        Instant deadline = Instant.now().plusSeconds(10);
        List<Long> waiting = List.of();
        while (Instant.now().isBefore(deadline)) {
            waiting = ProcessHandle.of(core.process.pid()).orElseThrow().children().filter(ProcTable::isWaitingHelper)
                    .map(ProcessHandle::pid).toList();
            if (waiting.size() == ProcessLauncher.HELPERS_AHEAD) {
                return waiting;
            }
            ImageProcess.sleep(10);
        }
        throw new AssertionError("not " + ProcessLauncher.HELPERS_AHEAD + " helpers wait for the next start, but " + waiting + ": "
                + core.output());
    }

    @Test
    void theExampleAdaptersStatsFileCannotStallTheCoreNorShowItRootsFiles() throws Exception {
        Path flows = Files.writeString(work.resolve("flows.txt"), "5 http://127.0.0.1:9/unreachable\n");
        Files.setPosixFilePermissions(flows, PosixFilePermissions.fromString("rw-r--r--"));
        Path locked = Files.createDirectory(work.resolve("locked"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path secret = Files.writeString(locked.resolve("secret.properties"), "sent=987654321\n");
        launch("""
                adapter:
                  class: ccc.adapter.example.ExampleAdapter
                  primary_payload_key: flowfile
                  run_as_user: %s
                """.formatted(USER), Map.of("CCC_API_TOKEN", TOKEN));
        long pid = startAndAwaitPid("{\"flowfile\": \"" + flows + "\"}");
        List<String> arguments = List.of(ProcessHandle.of(pid).orElseThrow().info().arguments().orElseThrow());
        Path stats = Path.of(arguments.get(arguments.indexOf("--stats") + 1));
        Instant deadline = Instant.now().plusSeconds(20);
        while (!Files.isRegularFile(stats) && Instant.now().isBefore(deadline)) {
            ImageProcess.sleep(50);
        }
        assertEquals(run("id", "-u", USER), Files.getAttribute(stats.getParent(), "unix:uid").toString());
        assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(stats.getParent(), LinkOption.NOFOLLOW_LINKS));
        run("kill", "-STOP", Long.toString(pid)); // so the runner no longer rewrites the file

        // A 1 GiB sparse file: the figures at its start are served, the rest is never read.
        Files.delete(stats);
        try (var file = new RandomAccessFile(stats.toFile(), "rw")) {
            file.write("sent=7\n".getBytes(StandardCharsets.ISO_8859_1));
            file.setLength(1L << 30);
            file.seek(1L << 30);
            file.write("\nsent=999\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        Instant asked = Instant.now();
        String huge = request("GET", "/api/metrics", null).body();
        System.out.println("/api/metrics with a 1 GiB stats file: " + Duration.between(asked, Instant.now()).toMillis() + " ms");
        assertTrue(huge.contains("\"adapter_metrics\":{") && huge.contains("\"requests_sent\":7"), huge);
        assertFalse(huge.contains("\"error\""), "the adapter answered within the core's bound: " + huge);

        // A link to a file only root can read: not followed, nothing of it served.
        Files.delete(stats);
        Files.createSymbolicLink(stats, secret);
        // The adapter's answer is kept for a second (the readings' freshness), so ask until a new one is served.
        String linked = "";
        Instant fresh = Instant.now().plusSeconds(10);
        while (!linked.contains("\"requests_sent\":0") && Instant.now().isBefore(fresh)) {
            linked = request("GET", "/api/metrics", null).body();
            assertFalse(linked.contains("987654321"), linked);
            ImageProcess.sleep(100);
        }
        assertTrue(linked.contains("\"requests_sent\":0") && !linked.contains("\"error\""), linked);

        assertEquals(200, request("GET", "/api/health", null).status());
        assertTrue(core.process.isAlive());
        run("kill", "-CONT", Long.toString(pid));
    }

    @Test
    void anAdaptersDirectoryOthersCanWriteIsRefused() throws Exception {
        Path adapters = adapterJar();
        Files.setPosixFilePermissions(adapters, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.writeString(work.resolve("config.yaml"), "adapter:\n  class: com.example.env.EnvAdapter\nadapters_dir: adapters\n");
        core = ImageProcess.launch(work, Map.of());
        assertTrue(core.process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        String output = core.output();
        assertEquals(2, core.process.exitValue(), output);
        assertTrue(output.contains("adapters directory refused: the core would run its code as root"), output);
        assertTrue(output.contains("refused: '" + adapters + "' is writable by its group or others (mode 777)"), output);
    }
}
