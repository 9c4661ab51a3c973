package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The README's quick-start configuration on a machine with no {@code app_user}: the workload runs
 * as whoever runs the core, root or not. ({@code .ci/quick-start} runs the README's commands
 * themselves from a fresh clone.)
 */
class QuickStartIT {

    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");
    private static final String EXAMPLE = "modules/ccc.adapter.example/";

    private Path work;

    @AfterEach
    void removeWork() throws IOException {
        if (work != null) {
            new ProcessBuilder("rm", "-rf", work.toString()).start().onExit().join();
        }
    }

    /** A directory every user can read, holding the example's files as a clone has them, and a temporary directory for the core. */
    private Path readableByEveryone() throws IOException {
        work = Files.createTempDirectory("quick-start", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(Files.createDirectories(work.resolve("tmp")), PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.createDirectories(work.resolve(EXAMPLE));
        for (String file : List.of("quickstart.yaml", "start.json", "flows.txt")) {
            Files.copy(ImageProcess.REPOSITORY.resolve(EXAMPLE + file), work.resolve(EXAMPLE + file));
        }
        return work;
    }

    @Test
    void asRootTheWorkloadRunsAsRootWithNoUserToCreate() throws Exception {
        Requirements.require(ProcTable.isRoot(), "the quick start as root needs root (run the tests as root to cover it)");
        Path directory = readableByEveryone();
        try (var core = ImageProcess.launch(directory, Map.of("CCC_JAVA_OPTIONS", ownTemporaryDirectory()), "--config", EXAMPLE + "quickstart.yaml")) {
            assertEquals(0, runsTheExample(core));
        }
    }

    @Test
    void asAnUnprivilegedUserTheWorkloadRunsAsThatUser() throws Exception {
        Requirements.require(ProcTable.isRoot(), "becoming another user needs root (run the tests as root to cover it)");
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        Path directory = readableByEveryone();
        // A copy of the image, since the build's may sit where another user cannot reach it (a checkout under /root).
        Path image = directory.resolve("ccc");
        assertEquals(0, new ProcessBuilder("cp", "-a", ImageProcess.IMAGE.toString(), image.toString()).inheritIO().start().waitFor());
        var asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
        var options = Map.of("CCC_JAVA_OPTIONS", ownTemporaryDirectory());
        try (var core = ImageProcess.launchUnder(asNobody, image, directory, options, "--config", EXAMPLE + "quickstart.yaml")) {
            assertEquals(65534, runsTheExample(core));
            assertTrue(core.output().contains("not running as root"), core.output());
        }
    }

    /** The example adapter keeps its figures in the core's temporary directory: this test's, removed after it. */
    private String ownTemporaryDirectory() {
        return "-Djava.io.tmpdir=" + work.resolve("tmp");
    }

    /** Starts the example with the README's start.json, as the README's curl does; returns the workload's uid. */
    private int runsTheExample(ImageProcess core) throws Exception {
        core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
        String start = Files.readString(work.resolve(EXAMPLE + "start.json"));
        var reply = core.request("POST", "/api/start", start);
        assertEquals(200, reply.status(), reply.body());
        String status = awaitAppStatus(core, "running");
        Matcher pid = PID.matcher(status);
        assertTrue(pid.find(), status);
        // `running` comes once the workload is handed its command: its helper drops privileges and execs it a moment later.
        Path commandLine = Path.of("/proc", pid.group(1), "cmdline");
        for (Instant deadline = Instant.now().plusSeconds(5);
                !Files.readString(commandLine).contains("ccc.adapter.example.FlowRunner") && Instant.now().isBefore(deadline); ) {
            Thread.sleep(10);
        }
        assertTrue(Files.readString(commandLine).contains("ccc.adapter.example.FlowRunner"));
        String procStatus = Files.readString(Path.of("/proc", pid.group(1), "status"));
        int uid = Integer.parseInt(procStatus.lines().filter(line -> line.startsWith("Uid:")).findFirst().orElseThrow().split("\\s+")[1]);
        assertEquals(200, core.request("POST", "/api/stop", null).status());
        awaitAppStatus(core, "stopped");
        return uid;
    }

    private static String awaitAppStatus(ImageProcess core, String appStatus) throws IOException {
        Instant deadline = Instant.now().plusSeconds(30);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            body = core.request("GET", "/api/status", null).body();
            if (body.contains("\"app_status\":\"" + appStatus + "\"")) {
                return body;
            }
            if (body.contains("\"app_status\":\"error\"")) {
                break;
            }
            ImageProcess.sleep(20);
        }
        throw new AssertionError("app_status never " + appStatus + ": " + body + "\n" + core.output());
    }
}
