package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.UserDirectory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --check-config}: what it reports about a configuration. */
class CheckConfigTest {

    @TempDir
    Path dir;

    private String runAsUserLine(String yaml, UserDirectory users) throws Exception {
        var config = TestCore.config(yaml);
        return Main.describe(config, "test.Adapter", Optional.empty(), Optional.empty(), users).lines()
                .filter(line -> line.startsWith("run_as_user: ")).findFirst().orElseThrow();
    }

    @Test
    void aRunAsUserThisMachineLacksIsNamedAsAWarning() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\napp_user:x:1000:1000::/home/app_user:/bin/sh\n");
        var users = new UserDirectory(passwd, Files.writeString(dir.resolve("group"), ""));
        assertEquals("run_as_user: app_user", runAsUserLine("  run_as_user: app_user\n", users));
        assertEquals("run_as_user: ghost (warning: no such user on this machine; a start as root fails here with run_as_user 'ghost' does not exist)",
                runAsUserLine("  run_as_user: ghost\n", users));
        assertEquals("run_as_user: (none)", runAsUserLine("", users));
    }

    @Test
    void theCheckStillPassesWithTheWarning() throws Exception {
        Path config = Files.writeString(dir.resolve("config.yaml"), """
                adapter: {run_as_user: no_such_user_on_any_machine}
                process_management: {enabled: true, command: [sleep, "1"]}
                """);
        var printed = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Main.run(new String[] {"--check-config", "--config", config.toString()}, Map.of());
        } finally {
            System.setOut(original);
        }
        String output = printed.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, output);
        assertTrue(output.contains("run_as_user: no_such_user_on_any_machine (warning: no such user on this machine"), output);
        assertTrue(output.endsWith("configuration OK\n"), output);
    }
}
