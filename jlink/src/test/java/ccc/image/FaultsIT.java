package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Faults that need the real process: SIGTERM in the middle of a start, and a broken jar among the adapters. */
class FaultsIT {

    @TempDir
    Path work;

    @Test
    void sigtermInTheMiddleOfAStartLeavesNothingRunningAndExitsZero() throws Exception {
        String marker = "4" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
        String preStart = "3" + ThreadLocalRandom.current().nextInt(100_000, 999_999) + ".5";
        Files.writeString(work.resolve("config.yaml"), """
                privileged_commands:
                  pre_start: [[sh, -c, 'sleep 1', '%s']]
                process_management:
                  enabled: true
                  command: [sleep, '%s']
                """.formatted(preStart, marker));
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{}").status());
            Thread.sleep(300);
            assertTrue(!ProcTable.withArgument(preStart).isEmpty(), "the start is in its pre_start command");
            core.process.destroy();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS), "ends within its grace");
            assertEquals(0, core.process.exitValue(), core.output());
            assertTrue(ProcTable.withArgument(marker).isEmpty(), "no workload left running");
            assertTrue(ProcTable.withArgument(preStart).isEmpty(), "no pre_start command left running");
        }
    }

    @Test
    void aBrokenJarAmongTheAdaptersIsSkippedAndTheCoreServes() throws Exception {
        Path adapters = Files.createDirectories(work.resolve("adapters"));
        Files.write(adapters.resolve("broken.jar"), "this is not a zip file".getBytes());
        Files.writeString(work.resolve("config.yaml"), """
                adapter:
                  class: ccc.adapter.example.ExampleAdapter
                adapters_dir: adapters
                """);
        try (var core = ImageProcess.launch(work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertTrue(core.output().contains("adapter jar skipped: it is not a usable module"), core.output());
            assertTrue(core.output().contains("broken.jar"), core.output());
            assertEquals(200, core.request("GET", "/api/status", null).status());
        }
    }
}
