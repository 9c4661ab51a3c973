package ccc.adapter.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.UpdateResult;
import ccc.testkit.AdapterHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example adapter driven through the core's real lifecycle and launcher, with the test kit. */
class ExampleAdapterTest {

    @TempDir
    Path dir;

    @Test
    void runsTheFlowsUpdatesItsLogLevelReportsItsFiguresAndStops() throws Exception {
        try (var target = new TinyHttpServer(); var harness = AdapterHarness.of(new ExampleAdapter())) {
            Path flows = Files.writeString(dir.resolve("flows.txt"), "# test flows\n20 " + target.url() + "\n");
            harness.start(Map.of("flowfile", flows.toString()));
            assertEquals("running", harness.appStatus(), harness.lastError().orElse(""));
            long pid = harness.pid().orElseThrow();

            harness.awaitMetrics(metrics -> ((Number) metrics.getOrDefault("requests_sent", 0)).longValue() >= 10);
            Map<String, Object> metrics = harness.metrics();
            assertEquals(true, metrics.get("running"));
            assertEquals(0L, metrics.get("errors"));
            assertTrue(((Number) metrics.get("rate")).doubleValue() > 0, metrics.toString());
            assertTrue(target.served() >= 10);

            assertEquals(UpdateResult.DECLINED, harness.update(Map.of("rate", 5)), "no log_level: declined, as the seed does");
            assertEquals(UpdateResult.APPLIED, harness.update(Map.of("log_level", "debug")));
            harness.awaitOutput("flow runner: log level DEBUG");

            harness.stop();
            assertEquals("stopped", harness.appStatus());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        }
    }

    @Test
    void aMissingFlowsFileEndsInError() {
        try (var harness = AdapterHarness.of(new ExampleAdapter())) {
            harness.start(Map.of("flowfile", dir.resolve("none.txt").toString()));
            harness.awaitPhase("failed");
            assertEquals("error", harness.appStatus());
            assertEquals("workload exited with code 1", harness.lastError().orElseThrow());
            assertTrue(harness.output(50).stream().anyMatch(line -> line.contains("NoSuchFileException")), harness.output(50).toString());
        }
    }

    @Test
    void theAdapterClassStaysWithinFortyLinesOfCode() throws Exception {
        String source = Files.readString(Path.of("src/main/java/ccc/adapter/example/ExampleAdapter.java"));
        int code = 0;
        boolean inComment = false;
        for (String line : source.lines().map(String::strip).toList()) {
            if (inComment) {
                inComment = !line.contains("*/");
            } else if (line.startsWith("/*")) {
                inComment = !line.contains("*/");
            } else if (!line.isEmpty() && !line.startsWith("//") && !line.startsWith("import ") && !line.startsWith("package ")) {
                code++;
            }
        }
        assertTrue(code <= 40, "the example adapter has " + code + " lines of code");
    }
}
