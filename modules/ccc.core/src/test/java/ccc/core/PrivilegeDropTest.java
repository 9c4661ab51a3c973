package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.PrivilegeDrop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The workload's credentials, read back from {@code /proc}, for a real user this test creates. Needs root. */
class PrivilegeDropTest {

    private static final String SUFFIX = Integer.toString(ThreadLocalRandom.current().nextInt(10_000, 99_999));
    private static final String USER = "cccu" + SUFFIX;
    private static final String EXTRA_GROUP = "cccg" + SUFFIX;

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @TempDir
    Path work;

    @BeforeAll
    static void createUser() throws Exception {
        Requirements.require(PrivilegeDrop.currentUid() == 0, "dropping privileges needs root (run the tests as root to cover it)");
        Requirements.require(PrivilegeDrop.system().helper().isPresent(),
                "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        run("groupadd", EXTRA_GROUP);
        run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--home-dir", "/home/" + USER, "--groups", EXTRA_GROUP, USER);
    }

    @AfterAll
    static void removeUser() throws Exception {
        if (PrivilegeDrop.currentUid() == 0) {
            run("userdel", USER);
            run("groupdel", EXTRA_GROUP);
        }
    }

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        var process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // userdel and groupdel may find nothing when creation failed; creation itself must succeed.
        if (process.waitFor() != 0 && !command[0].endsWith("del")) {
            throw new AssertionError(String.join(" ", command) + ": " + output);
        }
    }

    private static Map<String, String> status(long pid) throws IOException {
        var fields = new HashMap<String, String>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            int colon = line.indexOf(':');
            fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        return fields;
    }

    private static List<String> environment(long pid) throws IOException {
        return Arrays.asList(new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")), StandardCharsets.UTF_8).split("\0"));
    }

    private static String idOf(String option, String name) throws Exception {
        var process = new ProcessBuilder("id", option, name).start();
        String value = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, process.waitFor());
        return value;
    }

    private void assertDropped(long pid) throws Exception {
        String uid = idOf("-u", USER);
        String gid = idOf("-g", USER);
        String extraGid = new String(new ProcessBuilder("getent", "group", EXTRA_GROUP).start().getInputStream().readAllBytes()).split(":")[2];
        var status = status(pid);
        assertEquals(String.join("\t", uid, uid, uid, uid), status.get("Uid"));
        assertEquals(String.join("\t", gid, gid, gid, gid), status.get("Gid"));
        assertEquals(List.of(gid, extraGid).stream().sorted().toList(),
                Arrays.stream(status.get("Groups").split("\\s+")).sorted().toList());
        assertEquals("1", status.get("NoNewPrivs"));
        assertEquals("0000000000000000", status.get("CapEff"));
        assertEquals("0000000000000000", status.get("CapPrm"));
        assertEquals("0000000000000000", status.get("CapBnd"));
        var environment = environment(pid);
        assertTrue(environment.contains("HOME=/home/" + USER), environment.toString());
        assertTrue(environment.contains("USER=" + USER));
        assertTrue(environment.contains("LOGNAME=" + USER));
    }

    @Test
    void aConfigOnlyWorkloadRunsAsTheUserWithNothingMore() throws Exception {
        Path payload = work.resolve("payload.json");
        core = TestCore.start(null, "  run_as_user: " + USER + "\n"
                + "process_management:\n  enabled: true\n  command: [sleep, '" + marker + "']\n  payload_file: " + payload + "\n");
        core.post("/api/start", "{\"secret\": 1}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        assertEquals(List.of(pid), Processes.settledWithArgument(marker, List.of(pid)), "one workload runs");
        assertDropped(pid);
        assertEquals(idOf("-u", USER), Files.getAttribute(payload, "unix:uid").toString());
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(payload));
        core.post("/api/stop", null);
        core.awaitPhase("stopped");
    }

    @Test
    void anAdapterUsingEnsureUserRunsItsWorkloadAsTheUser() throws Exception {
        var adapter = new SleepAdapter();
        core = TestCore.start(adapter, "  run_as_user: " + USER + "\n");
        core.post("/api/start", "{}");
        long pid = ((Number) core.awaitPhase("running").get("pid")).longValue();
        // The adapter's process is the helper until it has dropped privileges and exec'd sleep,
        // which may be a moment after `running`: the helper's command line holds the marker too.
        Processes.awaitProgram(pid, "sleep");
        assertDropped(pid);
        Processes.killAll(adapter.marker);
    }

    @Test
    void anUnknownUserFailsTheStartClearly() throws Exception {
        core = TestCore.start(null, "  run_as_user: nosuchuser" + SUFFIX + "\n"
                + "process_management:\n  enabled: true\n  command: [sleep, '" + marker + "']\n");
        core.post("/api/start", "{}");
        var status = core.awaitPhase("failed");
        assertEquals("adapter start failed: run_as_user 'nosuchuser" + SUFFIX + "' does not exist", status.get("last_error"));
        assertEquals(List.of(), Processes.withArgument(marker));
    }
}
