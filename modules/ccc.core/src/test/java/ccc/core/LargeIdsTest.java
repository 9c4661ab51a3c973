package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.PrivilegeDrop;
import ccc.core.process.UserAccount;
import ccc.core.process.UserDirectory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * User and group ids are the kernel's unsigned 32-bit ones: every id up to 2^32 − 2 goes from
 * the passwd and group files to the workload's process as it is, and (uid_t) −1, which means
 * "leave unchanged" to the kernel, or anything larger, names no account.
 */
class LargeIdsTest {

    private static final long LARGEST = 4_294_967_294L;

    @TempDir
    Path dir;
    private UserDirectory users;

    @BeforeEach
    void files() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), """
                big:x:4294967294:4294967293::/home/big:/bin/sh
                minus-one:x:4294967295:1::/:/bin/sh
                negative:x:-2:1::/:/bin/sh
                wide:x:99999999999:1::/:/bin/sh
                signed:x:+5:1::/:/bin/sh
                """);
        Path group = Files.writeString(dir.resolve("group"), """
                bigs:x:4294967293:
                extra:x:3000000000:big
                too-far:x:4294967296:big
                """);
        users = new UserDirectory(passwd, group);
    }

    @Test
    void idsAboveTheSignedRangeAreReadAsTheyAre() {
        var big = new UserAccount("big", LARGEST, LARGEST - 1, "/home/big", List.of(3_000_000_000L, LARGEST - 1));
        assertEquals(Optional.of(big), users.find("big"));
        assertEquals(Optional.of(big), users.find("4294967294"));
        assertEquals(LARGEST, UserAccount.MAX_ID);
        for (String unusable : List.of("minus-one", "negative", "wide", "signed")) {
            assertTrue(users.find(unusable).isEmpty(), unusable + " has no usable uid");
        }
    }

    @Test
    void theHelperIsToldTheIdsAsTheyAre() {
        var drop = new PrivilegeDrop(users, Optional.of(Path.of("/image/lib/ccc-exec")), true);
        List<String> command = drop.launchCommand(List.of("true"), Optional.of("big"), Optional.empty());
        assertTrue(Collections.indexOfSubList(command,
                List.of("--groups", "3000000000,4294967293", "--gid", "4294967293", "--uid", "4294967294")) > 0, command.toString());
    }

    @Test
    void theHelperSwitchesToTheLargestIdsAndRefusesTheNext() throws Exception {
        Requirements.require(PrivilegeDrop.currentUid() == 0, "switching to another user needs root (run the tests as root to cover it)");
        Path helper = PrivilegeDrop.system().helper().orElse(null);
        Requirements.require(helper != null, "the ccc-exec helper was not built (install a C compiler, then rebuild)");
        var switched = run(helper.toString(), "--groups", "3000000000", "--gid", "4294967293", "--uid", "4294967294", "--",
                "/bin/sh", "-c", "id -u; id -g; id -G");
        assertEquals(new Result(0, "4294967294\n4294967293\n4294967293 3000000000\n", ""), switched);

        var minusOne = run(helper.toString(), "--gid", "1", "--uid", "4294967295", "--", "/bin/true");
        assertEquals(127, minusOne.code());
        assertEquals("ccc-exec: --uid expects a number from 0 to 4294967294, got '4294967295'\n", minusOne.stderr());
        var signed = run(helper.toString(), "--gid", "-1", "--uid", "5", "--", "/bin/true");
        assertEquals("ccc-exec: --gid expects a number from 0 to 4294967294, got '-1'\n", signed.stderr());
        assertEquals(127, signed.code());
    }

    private record Result(int code, String stdout, String stderr) {
    }

    private static Result run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the helper ended");
        return new Result(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
