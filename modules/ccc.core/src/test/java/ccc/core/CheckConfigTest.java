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

    @Test
    void theHealthProbeNamesACccPortThatIsNoPort() {
        // The probe a container's health check runs: 70000 was thrown out of the socket as a stack trace.
        for (String notAPort : java.util.List.of("abc", "70000")) {
            var printed = new ByteArrayOutputStream();
            PrintStream original = System.err;
            System.setErr(new PrintStream(printed, true, StandardCharsets.UTF_8));
            int status;
            try {
                status = Main.run(new String[] {"--probe"}, Map.of("CCC_PORT", notAPort));
            } finally {
                System.setErr(original);
            }
            assertEquals(1, status, notAPort);
            assertEquals("ccc: CCC_PORT: expected a port from 0 to 65535, got '" + notAPort + "'\n", printed.toString(StandardCharsets.UTF_8));
        }
    }

    private String describeLine(String yaml, String prefix) throws Exception {
        return Main.describe(TestCore.config(yaml), "test.Adapter", Optional.empty(), Optional.empty(), UserDirectory.system()).lines()
                .filter(line -> line.startsWith(prefix)).findFirst().orElseThrow();
    }

    @Test
    void theShowrunnerSdkModeIsDescribed() throws Exception {
        assertEquals("showrunner_sdk: off", describeLine("", "showrunner_sdk: "));
        assertEquals("showrunner_sdk: on, configuration file /srv/app.json, /healthz and /metrics on 0.0.0.0:9191, ephemeral,"
                        + " app_info name=test.Adapter version=" + Core.version() + ", SIGHUP reloads the file",
                describeLine("showrunner_sdk: {enabled: true, config_path: /srv/app.json, port: 9191, lifecycle: ephemeral}\n", "showrunner_sdk: "));
    }

    /** Runs {@code Main.run} and returns its exit status, stdout and stderr. */
    private static String[] runMain(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Main.run(args, Map.of());
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
        return new String[] {Integer.toString(status), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void appspecPrintsTheSkeletonAsJsonAndWarningsBesideIt() throws Exception {
        Path config = Files.writeString(dir.resolve("config.yaml"), """
                adapter: {class: com.example.Sleepy, primary_payload_key: seconds}
                showrunner_sdk: {app_name: Sleepy, port: 9300, colour: blue}
                """);
        String[] result = runMain("appspec", "--config", config.toString());
        assertEquals("0", result[0], result[2]);
        Map<String, Object> spec = ccc.core.json.Json.readObject(result[1].getBytes(StandardCharsets.UTF_8));
        assertEquals("sleepy", spec.get("id"));
        assertEquals(9300, ((Map<?, ?>) spec.get("sdk")).get("metrics_port"));
        assertEquals(java.util.List.of("seconds"), ((Map<?, ?>) spec.get("config_schema")).get("required"));
        assertTrue(result[2].contains("unknown configuration key ignored key=showrunner_sdk.colour"), result[2]);
    }

    @Test
    void appspecRefusesABrokenConfigurationOrAnUnknownArgument() throws Exception {
        Path config = Files.writeString(dir.resolve("config.yaml"), "adapter: {class: a.B}\nshowrunner_sdk: {lifecycle: weekly}\n");
        String[] broken = runMain("appspec", "--config", config.toString());
        assertEquals("1", broken[0]);
        assertEquals("", broken[1]);
        assertEquals("ccc: showrunner_sdk.lifecycle: expected long-running or ephemeral, got 'weekly'\n", broken[2]);
        String[] unknown = runMain("appspec", "--pretty");
        assertEquals("1", unknown[0]);
        assertTrue(unknown[2].contains("appspec: unknown argument '--pretty'"), unknown[2]);
    }
}
