package ccc.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.UserDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run_as_user} naming an account whose uid is 0 ({@code root}, or an alias such as
 * {@code toor}) looks like a drop and is none: the workload keeps uid 0 without capabilities, and
 * uid 0 owns the core's secrets. Such a workload reads a mode-0600 token file (owner's bit), may
 * signal the core (same uid), and may ask the core's JVM for a heap dump through its attach
 * socket (same euid), which holds the token and every payload. {@code --check-config} says
 * nothing of it; it should warn, as it warns of a user the machine lacks.
 */
class RunAsRootTest {

    @TempDir
    Path dir;

    @Test
    void checkConfigWarnsOfARunAsUserWhoseUidIsZero() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n");
        var users = new UserDirectory(passwd, Files.writeString(dir.resolve("group"), ""));
        for (String name : new String[] {"root", "toor"}) {
            String line = Main.describe(TestCore.config("  run_as_user: " + name + "\n"), "test.Adapter", Optional.empty(),
                    Optional.empty(), users).lines().filter(l -> l.startsWith("run_as_user: ")).findFirst().orElseThrow();
            assertTrue(line.contains("warning"), () -> "no warning for a workload user with uid 0: " + line);
        }
    }
}
