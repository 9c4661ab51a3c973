package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run_as_user} naming a uid-0 account ({@code root}): the workload runs as uid 0 with an
 * empty capability bounding set and no_new_privs, which reads as contained. But the core's JVM
 * keeps its attach mechanism, which admits any peer with the JVM's own euid: the workload asks
 * it to load a native agent ({@code jcmd PID JVMTI.agent_load}), and the agent runs inside the
 * core with every capability the core has. The agent here only writes down its capabilities.
 * The core refuses to start a workload as a uid-0 {@code run_as_user}, so nothing of it runs.
 */
class RunAsRootAttachIT {

    private static final String AGENT_SOURCE = """
            #include <stdio.h>
            #include <string.h>
            int Agent_OnAttach(void *vm, char *options, void *reserved) {
                FILE *in = fopen("/proc/self/status", "r"), *out = fopen(options, "w");
                char line[256];
                while (fgets(line, sizeof line, in)) {
                    if (strncmp(line, "CapEff:", 7) == 0) {
                        fputs(line, out);
                    }
                }
                fclose(in);
                fclose(out);
                return 0;
            }
            """;

    @TempDir
    Path work;

    @Test
    void aWorkloadRunAsRootCannotLoadCodeIntoTheCore() throws Exception {
        Requirements.require("root".equals(System.getProperty("user.name")), "the core must be root to drop to run_as_user");
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Requirements.require(Files.isExecutable(jcmd), "the JDK running the tests has jcmd");
        boolean gcc = List.of(System.getenv("PATH").split(":")).stream().anyMatch(dir -> Files.isExecutable(Path.of(dir, "gcc")));
        Requirements.require(gcc, "gcc compiles the agent");
        work.toFile().setExecutable(true, false);
        work.toFile().setReadable(true, false);
        Path source = Files.writeString(work.resolve("agent.c"), AGENT_SOURCE);
        Path agent = work.resolve("agent.so");
        Process compiler = new ProcessBuilder("gcc", "-shared", "-fPIC", "-o", agent.toString(), source.toString()).inheritIO().start();
        assertEquals(0, compiler.waitFor(), "gcc failed");
        Path proof = work.resolve("capabilities-of-the-agent");
        Path config = Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  run_as_user: root
                process_management:
                  enabled: true
                  command: [sh, -c, '"%s" $$PPID JVMTI.agent_load "%s" "%s"; sleep 30']
                """.formatted(jcmd, agent, proof));
        try (var core = ImageProcess.launch(work, Map.of(), "--config", config.toString())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            core.awaitReady(Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            Instant deadline = Instant.now().plusSeconds(30);
            String status = "";
            while (!Files.exists(proof) && Instant.now().isBefore(deadline) && !status.contains("\"phase\":\"failed\"")
                    && core.request("GET", "/api/logs", null).body().split("\"line\"").length < 3) {
                ImageProcess.sleep(100);
                status = core.request("GET", "/api/status", null).body();
            }
            String logs = core.request("GET", "/api/logs", null).body();
            assertFalse(Files.exists(proof), () -> "the workload (uid 0, no capabilities) loaded native code into the core, which ran with "
                    + readQuietly(proof).strip() + "; the workload's output: " + logs);
            String refused = status;
            assertTrue(refused.contains("run_as_user 'root' has uid 0"), () -> "the start was not refused: " + refused + "; the workload's output: " + logs);
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "(unreadable)";
        }
    }
}
