package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workload's user attacks {@code process_management.payload_file}, which the core writes as
 * root: it owns the payload's directory and swaps the file or its directory for symbolic links
 * to root's files, hoping root writes or hands it one of them (a root-run hook among them).
 * Needs root; creates a real user.
 */
class PayloadFileAttackTest {

    private final String marker = Processes.uniqueSleepArgument();
    private TestUser user;
    private TestCore core;
    private Process attacker;
    private Path rootOnly;
    private Path app;
    private Path payloadFile;

    @TempDir
    Path work;

    @BeforeEach
    void createTheUserAndTheirDirectory() throws Exception {
        user = TestUser.create();
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootOnly = Files.createDirectory(work.resolve("root-only"));
        Files.writeString(rootOnly.resolve("payload.json"), "root's own payload.json\n");
        Files.writeString(rootOnly.resolve("secret"), "root's secret\n");
        Files.setPosixFilePermissions(rootOnly.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        Files.writeString(rootOnly.resolve("hook.sh"), "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(rootOnly.resolve("hook.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
        app = Files.createDirectory(work.resolve("app"));
        user.own(app);
        payloadFile = app.resolve("run").resolve("payload.json");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (attacker != null) {
            attacker.destroyForcibly().waitFor();
        }
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
        if (user != null) {
            user.close();
        }
    }

    private TestCore startCore(String command, String hooks) throws Exception {
        return TestCore.start(null, "  run_as_user: " + user.name + "\n"
                + hooks
                + "process_management:\n  enabled: true\n  command: " + command + "\n"
                + "  payload_file: " + payloadFile + "\n"
                + "  update: {signal: WINCH, rewrite_payload_file: true}\n");
    }

    /** Owner, mode and content of a directory and everything in it, read without following links. */
    private static List<String> snapshot(Path dir) throws IOException {
        var state = new ArrayList<String>();
        state.add(describe(dir));
        try (var entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                state.add(describe(entry));
            }
        }
        return state;
    }

    private static String describe(Path path) throws IOException {
        Map<String, Object> unix = Files.readAttributes(path, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
        String content = Files.isSymbolicLink(path) ? "-> " + Files.readSymbolicLink(path)
                : Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) ? Files.readString(path) : "(directory)";
        return path.getFileName() + " uid=" + unix.get("uid") + " gid=" + unix.get("gid")
                + " mode=" + Integer.toOctalString((Integer) unix.get("mode")) + " " + content;
    }

    @Test
    void aPayloadDirectorySwappedForALinkToRootsDirectoryIsRefusedAndNothingOfRootsChanges() throws Exception {
        core = startCore("[sleep, '" + marker + "']", "");
        user.run(List.of("mkdir", app.resolve("run").toString()));
        assertEquals(200, core.post("/api/start", "{\"target\": \"a\"}").status());
        core.awaitPhase("running");
        assertEquals(user.uid, Files.getAttribute(payloadFile, "unix:uid"));
        var before = snapshot(rootOnly);

        // The workload's user owns app/, so it can make app/run a link to root's directory.
        user.run(List.of("sh", "-c", "cd " + app + " && rm -rf run && ln -s " + rootOnly + " run"));
        var update = core.post("/api/update", "{\"target\": \"b\"}");

        assertEquals(500, update.status(), update.body());
        assertEquals("adapter update failed: payload_file: '" + app.resolve("run") + "' is a symbolic link; the core does not follow links it writes through as root",
                update.json().get("detail"));
        assertEquals(before, snapshot(rootOnly));

        assertEquals(200, core.post("/api/start", "{\"target\": \"c\"}").status());
        var failed = core.awaitPhase("failed");
        assertTrue(String.valueOf(failed.get("last_error")).contains("payload_file: '" + app.resolve("run") + "' is a symbolic link"),
                failed.toString());
        assertEquals(List.of(), Processes.withArgument(marker), "nothing started");
        assertEquals(before, snapshot(rootOnly));
    }

    @Test
    void aWorkloadRacingLinksIntoThePayloadPathNeverGetsRootToWriteOrHandOverRootsFiles() throws Exception {
        // The attack: every state of app/run that could mislead a root that follows links, in a loop:
        // the directory a link to root's, the file a link to root's hook or secret, and so is any
        // temporary file the core creates beside it. A root-owned directory the core created is moved aside.
        // Perl rather than sh: its file operations are built in, so the loop forks nothing and races fast.
        Path script = Files.writeString(work.resolve("attack.pl"), """
                my ($app, $root) = @ARGV;
                chdir $app or die "cannot enter $app";
                for (my $round = 0; ; $round++) {
                    unlink glob("run/* run/.[!.]*");
                    rmdir "run" or unlink "run" or rename "run", "stale.$round";
                    symlink $root, "run";
                    select undef, undef, undef, 0.0005;
                    unlink "run";
                    mkdir "run";
                    symlink "$root/hook.sh", "run/payload.json";
                    for my $temporary (glob "run/.[!.]*") { unlink $temporary; symlink "$root/hook.sh", $temporary; }
                    unlink "run/payload.json";
                    symlink "$root/secret", "run/payload.json";
                    for my $temporary (glob "run/.[!.]*") { unlink $temporary; symlink "$root/secret", $temporary; }
                }
                """);
        // Readable by the workload's user whatever the umask of the test run.
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        String attack = "[perl, " + script + ", " + app + ", " + rootOnly + ", '" + marker + "']";
        // The chained attack: a root-run hook must never become the workload's to rewrite.
        core = startCore(attack, "privileged_commands:\n  pre_start: [['" + rootOnly.resolve("hook.sh") + "']]\n");
        var before = snapshot(rootOnly);
        // The workload races updates; this process, as the same user, races starts (when no workload runs).
        attacker = user.start(List.of("perl", script.toString(), app.toString(), rootOnly.toString(), marker));

        int refused = 0;
        int applied = 0;
        for (int round = 0; round < 150; round++) {
            assertEquals(200, core.post("/api/start", "{\"round\": " + round + "}").status());
            // Each start runs before the updates (a start superseded by the next would never run).
            var started = core.awaitStatus(status -> List.of("running", "failed").contains(status.get("phase")), java.time.Duration.ofSeconds(15));
            if (String.valueOf(started.get("last_error")).contains("symbolic link")) {
                refused++;
            }
            for (int update = 0; update < 2; update++) {
                var reply = core.post("/api/update", "{\"round\": " + round + ", \"update\": " + update + "}");
                if (reply.status() == 200) {
                    applied++;
                } else if (reply.body().contains("symbolic link")) {
                    refused++;
                }
            }
        }
        core.post("/api/stop", "{\"force\": true}");
        attacker.destroyForcibly().waitFor();
        Processes.killAll(marker);
        TestCore.sleep(200);

        System.out.println("payload_file race: " + applied + " updates applied, " + refused + " starts and updates refused for a link");
        assertEquals(before, snapshot(rootOnly));
        assertTrue(refused > 0, "the race reached the payload path");
    }
}
