package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workload's user links {@code process_management.working_dir} to a directory behind one it
 * cannot enter. Were root to enter it for the workload, the workload would start inside and read
 * by relative paths what it could never reach. The helper enters it as the workload's user.
 * Needs root; creates a real user.
 */
class WorkingDirectoryAttackTest {

    private static final String SECRET = "root's eyes only " + Processes.uniqueSleepArgument();

    private TestUser user;
    private TestCore core;

    @TempDir
    Path work;

    @BeforeEach
    void createTheUser() throws Exception {
        user = TestUser.create();
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void cleanUp() {
        if (core != null) {
            core.close();
        }
        if (user != null) {
            user.close();
        }
    }

    @Test
    void aWorkingDirectoryLinkedBehindALockedDirectoryIsNotEnteredForTheWorkload() throws Exception {
        Path locked = Files.createDirectory(work.resolve("locked"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path inner = Files.createDirectory(locked.resolve("inner"));
        Files.setPosixFilePermissions(inner, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(inner.resolve("secret.txt"), SECRET + "\n");
        Files.setPosixFilePermissions(inner.resolve("secret.txt"), PosixFilePermissions.fromString("rw-r--r--"));
        Path app = Files.createDirectory(work.resolve("app"));
        user.own(app);
        user.run(List.of("ln", "-s", inner.toString(), app.resolve("cwd").toString()));
        assertFalse(user.start(List.of("cat", inner.resolve("secret.txt").toString())).waitFor() == 0, "the user cannot read it by its path");

        core = TestCore.start(null, "  run_as_user: " + user.name + "\n"
                + "process_management:\n  enabled: true\n  command: [cat, secret.txt]\n  working_dir: " + app.resolve("cwd") + "\n");
        core.post("/api/start", "{}");
        var ended = core.awaitStatus(status -> List.of("failed", "exited").contains(status.get("phase")), java.time.Duration.ofSeconds(15));

        String logs = core.get("/api/logs").body();
        assertFalse(logs.contains(SECRET), logs);
        // The start fails with the helper's reason: the workload never ran.
        assertEquals("failed", ended.get("phase"), ended.toString());
        assertEquals(null, ended.get("pid"), ended.toString());
        assertEquals("adapter start failed: cannot change directory to '" + app.resolve("cwd") + "': Permission denied",
                ended.get("last_error"), ended.toString());
    }

    @Test
    void aWorkingDirectoryTheUserCanEnterIsEntered() throws Exception {
        Path app = Files.createDirectory(work.resolve("app"));
        user.own(app);
        core = TestCore.start(null, "  run_as_user: " + user.name + "\n"
                + "process_management:\n  enabled: true\n  command: [pwd]\n  working_dir: " + app + "\n");
        core.post("/api/start", "{}");
        core.awaitPhase("exited");
        assertTrue(core.get("/api/logs").body().contains("\"line\":\"" + app + "\""), core.get("/api/logs").body());
    }
}
