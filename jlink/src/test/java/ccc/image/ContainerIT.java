package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Dockerfile, built and run by a real container engine (podman) on stand-in base
 * images assembled from Debian packages, and checked from outside the container.
 */
class ContainerIT {

    private static final String IMAGE = "localhost/ccc:it";
    private static final Path HOME = Path.of(System.getProperty("user.home"));
    private final List<String> containers = new ArrayList<>();

    @TempDir
    Path work;

    /** A command's exit code and output. */
    private record Result(int status, String output) {
    }

    private static Result run(Duration timeout, Path directory, String... command) throws IOException, InterruptedException {
        var builder = new ProcessBuilder(command).redirectErrorStream(true);
        if (directory != null) {
            builder.directory(directory.toFile());
        }
        Path log = Files.createTempFile("ccc-container", ".log");
        Process process = builder.redirectOutput(log.toFile()).start();
        if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in " + timeout + ":\n" + Files.readString(log));
        }
        String output = Files.readString(log);
        Files.delete(log);
        return new Result(process.exitValue(), output);
    }

    private static String podman(Duration timeout, String... arguments) throws IOException, InterruptedException {
        var command = new ArrayList<>(List.of("podman", "--runtime", "/usr/sbin/runc"));
        command.addAll(List.of(arguments));
        Result result = run(timeout, null, command.toArray(String[]::new));
        assertEquals(0, result.status(), String.join(" ", command) + ":\n" + result.output());
        return result.output();
    }


    @BeforeAll
    static void buildTheImage() throws Exception {
        Requirements.require(ProcTable.isRoot(), "building and running images with podman here needs root");
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/podman")) && Files.isExecutable(Path.of("/usr/sbin/runc")),
                "podman and runc are not installed (apt-get install podman runc)");
        Requirements.require(Files.isExecutable(Path.of("/usr/sbin/debootstrap")), "debootstrap is not installed");
        Result bases = run(Duration.ofMinutes(15), ImageProcess.REPOSITORY, "docker/stand-in-bases.sh");
        assertEquals(0, bases.status(), bases.output());
        Files.createDirectories(HOME.resolve(".m2"));
        podman(Duration.ofMinutes(20), "build", "--format", "docker", "--volume", HOME.resolve(".m2") + ":/root/.m2",
                "--build-arg", "BUILDER_IMAGE=localhost/ccc-builder-base:25", "--build-arg", "RUNTIME_IMAGE=localhost/ccc-runtime-base:12",
                "--tag", IMAGE, ImageProcess.REPOSITORY.toString());
    }

    @AfterEach
    void removeContainers() throws Exception {
        for (String name : containers) {
            run(Duration.ofMinutes(1), null, "podman", "--runtime", "/usr/sbin/runc", "rm", "--force", name);
        }
    }

    private ImageClient startContainer(String image, String... entrypoint) throws Exception {
        String name = "ccc-it-" + ThreadLocalRandom.current().nextInt(1_000_000);
        int port = ImageProcess.freePort();
        var arguments = new ArrayList<>(List.of("run", "--detach", "--name", name, "--network", "host", "--env", "CCC_PORT=" + port));
        if (entrypoint.length > 0) {
            arguments.addAll(List.of("--entrypoint", "[\"" + String.join("\", \"", entrypoint) + "\"]"));
        }
        arguments.add(image);
        containers.add(name);
        podman(Duration.ofMinutes(1), arguments.toArray(String[]::new));
        return new ImageClient(name, port);
    }

    /** HTTP to a container on the host's network. */
    private record ImageClient(String name, int port) {
        ImageProcess.Reply request(String method, String path, String json) throws IOException {
            return ImageProcess.request("127.0.0.1", port, method, path, json);
        }

        long awaitHealthy(Instant since) throws Exception {
            Instant deadline = Instant.now().plusSeconds(60);
            while (Instant.now().isBefore(deadline)) {
                try {
                    if (request("GET", "/api/health", null).status() == 200) {
                        return Duration.between(since, Instant.now()).toMillis();
                    }
                } catch (IOException e) {
                    // Not listening yet.
                }
                Thread.sleep(5);
            }
            throw new AssertionError("container " + name + " never became healthy");
        }

        String awaitStatus(String fragment) throws Exception {
            Instant deadline = Instant.now().plusSeconds(30);
            String status = "";
            while (Instant.now().isBefore(deadline)) {
                status = request("GET", "/api/status", null).body();
                if (status.contains(fragment)) {
                    return status;
                }
                Thread.sleep(50);
            }
            throw new AssertionError("status never showed " + fragment + ": " + status);
        }
    }

    @Test
    void theImageRunsTheWorkloadAsAppUserAndStopsGracefully() throws Exception {
        var core = startContainer(IMAGE);
        core.awaitHealthy(Instant.now());
        assertEquals(200, core.request("POST", "/api/start", "{\"flowfile\": \"/opt/ccc/conf/ccc/flows.txt\"}").status());
        core.awaitStatus("\"phase\":\"running\"");
        String processes = podman(Duration.ofMinutes(1), "top", core.name(), "user", "args");
        assertTrue(processes.lines().anyMatch(line -> line.startsWith("app_user") && line.contains("FlowRunner")), processes);
        assertTrue(processes.lines().anyMatch(line -> line.startsWith("root") && line.contains("ccc.core.Main")), processes);
        var metrics = core.request("GET", "/api/metrics", null);
        assertEquals(200, metrics.status());
        assertTrue(metrics.body().contains("\"adapter_metrics\""), metrics.body());
        assertTrue(podman(Duration.ofMinutes(1), "healthcheck", "run", core.name()).isBlank(), "the health check passes without a shell");
        assertEquals(200, core.request("POST", "/api/stop", "{}").status());
        core.awaitStatus("\"phase\":\"stopped\"");

        assertEquals(200, core.request("POST", "/api/start", "{\"flowfile\": \"/opt/ccc/conf/ccc/flows.txt\"}").status());
        core.awaitStatus("\"phase\":\"running\"");
        Instant asked = Instant.now();
        podman(Duration.ofMinutes(1), "stop", "--time", "30", core.name());
        long took = Duration.between(asked, Instant.now()).toMillis();
        assertEquals("0", podman(Duration.ofMinutes(1), "inspect", core.name(), "--format", "{{.State.ExitCode}}").strip());
        assertTrue(took < 30_000, "ended within the grace period, in " + took + " ms");
        String logs = podman(Duration.ofMinutes(1), "logs", core.name());
        assertTrue(logs.contains("signal received signal=SIGTERM") && logs.contains("shut down clean=true"), logs);
        System.out.println("podman stop of a running workload: " + took + " ms");
    }

    /** The FlowRunner's pid in the container, as {@code podman top} shows it; -1 when none runs. */
    private static long flowRunnerPid(String container) throws Exception {
        return podman(Duration.ofMinutes(1), "top", container, "pid", "user", "args").lines()
                .filter(line -> line.contains("FlowRunner") && line.contains("app_user"))
                .mapToLong(line -> Long.parseLong(line.strip().split("\\s+")[0])).findFirst().orElse(-1);
    }

    private static String awaitLogs(String container, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        String logs = "";
        while (Instant.now().isBefore(deadline)) {
            logs = podman(Duration.ofMinutes(1), "logs", container);
            if (logs.contains(fragment)) {
                return logs;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("'" + fragment + "' never logged:\n" + logs);
    }

    private static String awaitHealthz(int port, String fragment) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            try {
                body = ImageProcess.request("127.0.0.1", port, "GET", "/healthz", null).body();
                if (body.contains(fragment)) {
                    return body;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(50);
        }
        throw new AssertionError("/healthz never showed " + fragment + ": " + body);
    }

    @Test
    void theImageIsManagedThroughTheShowrunnerSdksContractWithOneVariable() throws Exception {
        Path config = Files.createDirectories(work.resolve("config"));
        Path appJson = config.resolve("app.json");
        Files.writeString(appJson, "{\"flowfile\": \"/opt/ccc/conf/ccc/flows.txt\"}");
        String name = "ccc-it-sdk-" + ThreadLocalRandom.current().nextInt(1_000_000);
        int controlPort = ImageProcess.freePort();
        int sdkPort = ImageProcess.freePort();
        containers.add(name);
        // As the SDK's Showrunner runs an app: the configuration in a volume at /config, the metrics port in its variable.
        podman(Duration.ofMinutes(1), "run", "--detach", "--name", name, "--network", "host", "--env", "CCC_PORT=" + controlPort,
                "--env", "CCC_SHOWRUNNER_SDK=true", "--env", "SHOWRUNNER_METRICS_PORT=" + sdkPort, "--volume", config + ":/config", IMAGE);
        awaitHealthz(sdkPort, "\"status\":\"running\"");
        long first = flowRunnerPid(name);
        assertTrue(first > 0, podman(Duration.ofMinutes(1), "top", name, "pid", "user", "args"));
        String metrics = ImageProcess.request("127.0.0.1", sdkPort, "GET", "/metrics", null).body();
        for (String family : List.of("# TYPE app_uptime_seconds gauge", "config_reloads_total 0.0",
                "app_info{name=\"ccc.adapter.example.ExampleAdapter\",version=\"", "# TYPE process_cpu_percent gauge",
                "# TYPE process_memory_mb gauge", "ccc_workload_up 1.0")) {
            assertTrue(metrics.contains(family), family + " in\n" + metrics);
        }

        // The example adapter applies a log_level live (SIGUSR1 to the flow runner).
        Files.writeString(appJson, "{\"flowfile\": \"/opt/ccc/conf/ccc/flows.txt\", \"log_level\": \"debug\"}");
        podman(Duration.ofMinutes(1), "kill", "--signal", "HUP", name);
        awaitLogs(name, "configuration reloaded how=\"live update\"");
        awaitLogs(name, "flow runner: log level DEBUG");
        assertEquals(first, flowRunnerPid(name), "updated live, not restarted");

        // Without log_level it declines, and the core restarts the workload with the new configuration.
        Files.writeString(appJson, "{\"flowfile\": \"/opt/ccc/conf/ccc/flows.txt\"}");
        podman(Duration.ofMinutes(1), "kill", "--signal", "HUP", name);
        awaitLogs(name, "configuration reloaded how=restart because=\"adapter declined update\"");
        awaitHealthz(sdkPort, "\"status\":\"running\"");
        Instant deadline = Instant.now().plusSeconds(30);
        long second = flowRunnerPid(name);
        while ((second == first || second < 0) && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
            second = flowRunnerPid(name);
        }
        assertTrue(second > 0 && second != first, "a new flow runner: " + first + " then " + second);

        Files.writeString(appJson, "{\"flowfile\": ");
        podman(Duration.ofMinutes(1), "kill", "--signal", "HUP", name);
        String refused = awaitHealthz(sdkPort, "reload refused");
        assertTrue(refused.contains("\"status\":\"running\"") && refused.contains("/config/app.json is not valid JSON"), refused);
        assertEquals(second, flowRunnerPid(name), "the running workload was left alone");

        podman(Duration.ofMinutes(1), "stop", "--time", "30", name);
        assertEquals("0", podman(Duration.ofMinutes(1), "inspect", name, "--format", "{{.State.ExitCode}}").strip());
        String logs = podman(Duration.ofMinutes(1), "logs", name);
        assertTrue(logs.contains("signal received signal=SIGTERM") && logs.contains("shut down clean=true"), logs);
    }

    @Test
    void thereIsNoShell() throws Exception {
        Result shell = run(Duration.ofMinutes(1), null, "podman", "--runtime", "/usr/sbin/runc", "run", "--rm", "--entrypoint", "/bin/sh", IMAGE, "-c", "true");
        assertNotEquals(0, shell.status(), shell.output());
        assertTrue(shell.output().contains("/bin/sh"), shell.output());
    }

    @Test
    void anAdapterAuthorsImageAddsAJarAndAConfigurationWithoutRelinking() throws Exception {
        Path context = Files.createDirectories(work.resolve("authors-image"));
        AdapterJar.build(work, context.resolve("sleepy.jar"));
        Files.writeString(context.resolve("config.yaml"), """
                adapter:
                  class: com.example.sleepy.SleepyAdapter
                  run_as_user: app_user
                  seconds: "4321.5"
                """);
        // The workload, sleep, is the author's to ship: distroless has no coreutils.
        Files.writeString(context.resolve("Dockerfile"), """
                FROM %s
                COPY --from=localhost/ccc-builder-base:25 /usr/bin/sleep /usr/bin/sleep
                COPY sleepy.jar /opt/ccc/adapters/
                COPY config.yaml /opt/ccc/conf/ccc/config.yaml
                """.formatted(IMAGE));
        podman(Duration.ofMinutes(5), "build", "--format", "docker", "--tag", "localhost/ccc-sleepy:it", context.toString());
        var core = startContainer("localhost/ccc-sleepy:it");
        core.awaitHealthy(Instant.now());
        assertEquals(200, core.request("POST", "/api/start", "{}").status());
        core.awaitStatus("\"phase\":\"running\"");
        String processes = podman(Duration.ofMinutes(1), "top", core.name(), "user", "args");
        assertTrue(processes.lines().anyMatch(line -> line.startsWith("app_user") && line.contains("sleep 4321.5")), processes);
        podman(Duration.ofMinutes(1), "stop", "--time", "30", core.name());
        assertEquals("0", podman(Duration.ofMinutes(1), "inspect", core.name(), "--format", "{{.State.ExitCode}}").strip());
    }

    @Test
    void launchToHealthyWithAndWithoutTheAheadOfTimeCache() throws Exception {
        var withCache = new ArrayList<Long>();
        var without = new ArrayList<Long>();
        for (int i = 0; i < 5; i++) {
            Instant launched = Instant.now();
            var core = startContainer(IMAGE);
            withCache.add(core.awaitHealthy(launched));
            launched = Instant.now();
            var plain = startContainer(IMAGE, "/opt/ccc/bin/java", "-XX:AOTMode=off", "--enable-native-access=ccc.core", "-m", "ccc.core/ccc.core.Main");
            without.add(plain.awaitHealthy(launched));
            removeContainers();
            containers.clear();
        }
        String size = podman(Duration.ofMinutes(1), "image", "inspect", IMAGE, "--format", "{{.Size}}").strip();
        System.out.println("container image: " + Long.parseLong(size) / (1024 * 1024) + " MiB; launch to healthy (podman run to first 200), ms:"
                + " with the AOT cache " + withCache + " median " + withCache.stream().sorted().toList().get(2)
                + ", without " + without + " median " + without.stream().sorted().toList().get(2));
        assertTrue(Long.parseLong(size) > 0);
    }
}
