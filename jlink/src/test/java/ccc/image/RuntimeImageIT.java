package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The linked runtime image, run as operators run it. */
class RuntimeImageIT {

    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");

    @TempDir
    Path work;

    @Test
    void everyModuleIsLinkedAsANamedModule() throws Exception {
        var listing = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/java").toString(), "--list-modules")
                .redirectErrorStream(true).start();
        String modules = new String(listing.getInputStream().readAllBytes());
        assertEquals(0, listing.waitFor());
        for (String module : List.of("ccc.api", "ccc.core", "ccc.adapter.example", "com.fasterxml.jackson.jr.ob",
                "com.fasterxml.jackson.core", "org.yaml.snakeyaml", "simpleclient", "simpleclient.common",
                "simpleclient.httpserver", "java.base", "jdk.httpserver")) {
            assertTrue(modules.lines().anyMatch(line -> line.equals(module) || line.startsWith(module + "@")), module + " in\n" + modules);
        }
        assertFalse(modules.contains("java.desktop"), "only the JRE modules the code needs");
        assertFalse(Files.exists(ImageProcess.IMAGE.resolve("include")), "no header files");
        assertFalse(Files.exists(ImageProcess.IMAGE.resolve("man")), "no man pages");
        assertTrue(Files.isRegularFile(ImageProcess.IMAGE.resolve("conf/ccc/config.yaml")));
    }

    @Test
    void startsWithTheBuiltInExampleConfigurationAndAnswersHealth() throws Exception {
        Instant launched = Instant.now();
        try (var core = ImageProcess.launch(work, Map.of())) {
            Duration healthy = core.awaitHealthy(launched, Duration.ofSeconds(30));
            var health = core.request("GET", "/api/health", null);
            assertEquals("{\"status\":\"healthy\",\"app_status\":\"initializing\"}", health.body());
            assertTrue(core.output().contains("config=" + ImageProcess.IMAGE.resolve("conf/ccc/config.yaml")), core.output());
            assertTrue(core.request("GET", "/metrics", null).body().contains("# TYPE ccc_http_requests_total counter"));
            System.out.println("launch to healthy: " + healthy.toMillis() + " ms");
        }
    }

    @Test
    void sigtermStopsTheWorkloadThenExitsZero() throws Exception {
        Path flows = Files.writeString(work.resolve("flows.txt"), "1 http://127.0.0.1:9/unreachable\n");
        Path config = Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  class: ccc.adapter.example.ExampleAdapter
                  primary_payload_key: flowfile
                """);
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertTrue(core.output().contains("config=config.yaml"), "./config.yaml is found: " + core.output());
            assertEquals(200, core.request("POST", "/api/start", "{\"flowfile\": \"" + flows + "\"}").status());
            long pid = awaitRunningPid(core);
            assertTrue(ProcessHandle.of(pid).isPresent());

            core.process.destroy();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "the core ends within its grace");
            assertEquals(0, core.process.exitValue(), core.output());
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) == false, "the workload is gone");
            assertTrue(core.output().contains("signal received signal=SIGTERM"), core.output());
            assertTrue(config.toFile().exists());
        }
    }

    @Test
    void sigintAlsoExitsZero() throws Exception {
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            new ProcessBuilder("kill", "-INT", Long.toString(core.process.pid())).start().waitFor();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, core.process.exitValue(), core.output());
        }
    }

    @Test
    void theMemoryOptionsAreStoredInTheImageAndTheCacheLoadsWithThem() throws Exception {
        // -XX:AOTMode=on: the JVM refuses to start when it cannot use the cache, as when the old
        // generation has no room for the cache's archived heap objects.
        var launcher = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "--version")
                .directory(work.toFile()).redirectErrorStream(true);
        launcher.environment().put("CCC_JAVA_OPTIONS", "-XX:AOTMode=on -XX:+PrintFlagsFinal");
        Process process = launcher.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.matches("(?s).*\\bMaxNewSize += 6291456 .*"), "a 6 MiB young generation: " + output);
        assertTrue(output.matches("(?s).*\\bInitialHeapSize += 16777216 .*"), "a 16 MiB initial heap: " + output);
        assertTrue(output.matches("(?s).*\\bSurvivorRatio += 2 .*"), "two survivors half the eden's size: " + output);
        assertTrue(output.matches("(?s).*\\bStringTableSize += 4096 .*"), "a small string table to start with: " + output);
        assertTrue(output.contains("\nccc "), output);
    }

    @Test
    void onceQuietAfterListeningTheCoreGivesBackTheCachesUnwrittenPagesAndServesOn() throws Exception {
        Pattern givenBack = Pattern.compile("start-up pages given back .*\\bkib=(\\d+) cache_kib=(\\d+)");
        try (var core = ImageProcess.launch(work, Map.of("LOG_LEVEL", "DEBUG"))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            Instant deadline = Instant.now().plusSeconds(20);
            Matcher line = givenBack.matcher(core.output());
            boolean logged;
            while (!(logged = line.find()) && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(50);
                line = givenBack.matcher(core.output());
            }
            assertTrue(logged, "no page-out logged: " + core.output());
            long cacheKib = Long.parseLong(line.group(2));
            // The relocation copies most of the cache; the symbols and bytecodes it left are about 4 MiB.
            assertTrue(cacheKib >= 1024, "the AOT cache's pages still the file's were given back: " + line.group(0));
            assertTrue(Long.parseLong(line.group(1)) > cacheKib, "and libjvm.so's with them: " + line.group(0));
            // What serving needs of them comes back from the file.
            for (String path : List.of("/api/health", "/api/metrics", "/metrics", "/api/status")) {
                assertEquals(200, core.request("GET", path, null).status(), path);
            }
        }
    }

    @Test
    void theProbeGivesUpOnAListenerThatNeverAnswers() throws Exception {
        try (var silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            var probe = new ProcessBuilder(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "--probe")
                    .directory(work.toFile()).redirectErrorStream(true);
            probe.environment().put("CCC_PORT", Integer.toString(silent.getLocalPort()));
            Instant began = Instant.now();
            Process process = probe.start();
            // Accepted by the kernel's backlog; nothing is ever read or written.
            String output = new String(process.getInputStream().readAllBytes());
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, process.exitValue(), output);
            assertTrue(output.contains("answered nothing"), output);
            assertTrue(Duration.between(began, Instant.now()).compareTo(Duration.ofSeconds(25)) < 0, "gave up within its bound");
        }
    }

    private String runLauncher(int expectedStatus, String... args) throws Exception {
        var command = new java.util.ArrayList<String>();
        command.add(ImageProcess.IMAGE.resolve("bin/ccc").toString());
        command.addAll(List.of(args));
        var process = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(expectedStatus, process.exitValue(), output);
        return output;
    }

    @Test
    void theLauncherHelpsReportsItsVersionAndChecksAConfiguration() throws Exception {
        assertTrue(runLauncher(0, "--help").contains("--check-config"));
        assertTrue(runLauncher(0, "--version").matches("ccc \\d+\\.\\d+\\.\\d+.*\\n"));
        String checked = runLauncher(0, "--check-config", "--config", ImageProcess.REPOSITORY.resolve("modules/ccc.adapter.example/config.yaml").toString());
        assertTrue(checked.contains("adapter: ccc.adapter.example.ExampleAdapter (module ccc.adapter.example)"), checked);
        assertTrue(checked.endsWith("configuration OK\n"), checked);
        Files.writeString(work.resolve("bad.yaml"), "adapter:\n  class: com.example.Missing\n");
        String refused = runLauncher(1, "--check-config", "--config", "bad.yaml");
        assertTrue(refused.startsWith("ccc: adapter.class: no adapter 'com.example.Missing' found"), refused);
        assertTrue(runLauncher(2, "--no-such-flag").contains("unknown argument"));
    }

    @Test
    void anInvalidConfigurationExitsBeforeListeningWithOneLine() throws Exception {
        Files.writeString(work.resolve("bad.yaml"), "adapter:\n  class: ccc.adapter.example.ExampleAdapter\nserver:\n  max_body_bytes: lots\n");
        try (var core = ImageProcess.launch(work, Map.of("CCC_CONFIG_FILE", "bad.yaml"))) {
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, core.process.exitValue());
            assertEquals("ccc: server.max_body_bytes: expected a whole number from 1 to 67108864, got 'lots'\n", core.output());
        }
    }

    @Test
    void anUnknownAdapterNamesTheAdaptersFound() throws Exception {
        Files.writeString(work.resolve("config.yaml"), "adapter:\n  class: com.example.Missing\n");
        try (var core = ImageProcess.launch(work, Map.of(), "--config", "config.yaml")) {
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, core.process.exitValue());
            assertTrue(core.output().startsWith("ccc: adapter.class: no adapter 'com.example.Missing' found; available: ccc.adapter.example.ExampleAdapter"),
                    core.output());
        }
    }

    @Test
    void anAdapterJarInTheAdaptersDirectoryIsFoundAndDriven() throws Exception {
        Path adapters = Files.createDirectories(work.resolve("adapters"));
        AdapterJar.build(work, adapters.resolve("sleepy.jar"));
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  class: com.example.sleepy.SleepyAdapter
                  seconds: "4321.5"
                adapters_dir: adapters
                """);
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            long pid = awaitRunningPid(core);
            // `running` comes once the workload is handed its command: its exec may be a moment later.
            String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
            for (Instant deadline = Instant.now().plusSeconds(5); !cmdline.contains("4321.5") && Instant.now().isBefore(deadline); ) {
                Thread.sleep(10);
                cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
            }
            assertTrue(cmdline.contains("4321.5"), cmdline);
            assertEquals(200, core.request("POST", "/api/stop", null).status());
            awaitBody(core, "\"phase\":\"stopped\"");
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        }
    }

    @Test
    void anAdapterJarForAnotherApiOrAModuleTheImageHasIsLeftOutWithItsReason() throws Exception {
        Path adapters = Files.createDirectories(work.resolve("adapters"));
        AdapterJar.build(work, adapters.resolve("sleepy.jar"), AdapterJar.SLEEPY_CLASS, AdapterJar.SLEEPY_SOURCE,
                AdapterJar.apiVersioned(work, "7.2"));
        try (var modules = Files.list(ImageProcess.IMAGE.resolveSibling("modules"))) {
            Files.copy(modules.filter(jar -> jar.getFileName().toString().startsWith("ccc.adapter.example-")).findFirst().orElseThrow(),
                    adapters.resolve("example.jar"));
        }
        Files.writeString(work.resolve("config.yaml"), "adapter:\n  class: " + AdapterJar.SLEEPY_CLASS + "\nadapters_dir: adapters\n");
        try (var core = ImageProcess.launch(work, Map.of())) {
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, core.process.exitValue(), core.output());
            assertTrue(core.output().contains("it was compiled against ccc.api 7.2 and this core has ccc.api "), core.output());
            assertTrue(core.output().contains("its module ccc.adapter.example@"), core.output());
            assertTrue(core.output().contains("is already in the runtime image, whose copy is used"), core.output());
            assertTrue(core.output().contains("no adapter '" + AdapterJar.SLEEPY_CLASS + "' found"), core.output());
        }
    }

    private static long awaitRunningPid(ImageProcess core) throws IOException {
        String status = awaitBody(core, "\"phase\":\"running\"");
        Matcher pid = PID.matcher(status);
        assertTrue(pid.find(), status);
        return Long.parseLong(pid.group(1));
    }

    private static String awaitBody(ImageProcess core, String fragment) throws IOException {
        Instant deadline = Instant.now().plusSeconds(20);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            body = core.request("GET", "/api/status", null).body();
            if (body.contains(fragment)) {
                return body;
            }
            ImageProcess.sleep(20);
        }
        throw new AssertionError("status never showed " + fragment + ": " + body + "\n" + core.output());
    }
}
