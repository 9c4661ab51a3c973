package ccc.core;

import ccc.core.process.PrivilegeDrop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real account for a test's workload, created with {@code useradd} and removed by
 * {@link #close()}, and a way to act as it, as an attacking workload would. Needs root and the
 * {@code ccc-exec} helper; skips (or fails on CI) without them.
 */
final class TestUser implements AutoCloseable {

    final String name;
    final int uid;
    final int gid;

    private TestUser(String name, int uid, int gid) {
        this.name = name;
        this.uid = uid;
        this.gid = gid;
    }

    /** Creates a fresh account with no home directory and no login shell. */
    static TestUser create() throws IOException, InterruptedException {
        Requirements.require(PrivilegeDrop.currentUid() == 0, "acting as a workload's user needs root (run the tests as root to cover it)");
        Requirements.require(PrivilegeDrop.system().helper().isPresent(),
                "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        String name = "ccca" + ThreadLocalRandom.current().nextInt(10_000, 99_999);
        run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--home-dir", "/home/" + name, name);
        return new TestUser(name, Integer.parseInt(run("id", "-u", name)), Integer.parseInt(run("id", "-g", name)));
    }

    /** Starts {@code command} as this user (uid, gid, no supplementary groups), as the workload would run it. */
    Process start(List<String> command) throws IOException {
        var wrapped = new ArrayList<String>(List.of(PrivilegeDrop.system().helper().orElseThrow().toString(),
                "--groups", Integer.toString(gid), "--gid", Integer.toString(gid), "--uid", Integer.toString(uid), "--"));
        wrapped.addAll(command);
        return new ProcessBuilder(wrapped).redirectErrorStream(true).start();
    }

    /** Runs {@code command} as this user and returns its output; fails unless it exits 0. */
    String run(List<String> command) throws IOException, InterruptedException {
        Process process = start(command);
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new AssertionError(String.join(" ", command) + " as " + name + ": " + output);
        }
        return output;
    }

    /** Makes {@code path} this user's. */
    void own(Path path) throws IOException {
        Files.setAttribute(path, "unix:uid", uid);
        Files.setAttribute(path, "unix:gid", gid);
    }

    private static String run(String... command) throws IOException, InterruptedException {
        var process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (process.waitFor() != 0) {
            throw new AssertionError(String.join(" ", command) + ": " + output);
        }
        return output;
    }

    @Override
    public void close() {
        try {
            run("userdel", name);
        } catch (IOException | InterruptedException | AssertionError e) {
            throw new IllegalStateException("cannot remove test user " + name, e);
        }
    }
}
