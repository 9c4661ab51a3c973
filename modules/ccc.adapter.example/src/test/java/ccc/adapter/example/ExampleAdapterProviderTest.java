package ccc.adapter.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ccc.testkit.AdapterHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The module's {@code provides} line: the core finds the example adapter by its class name, as config.yaml names it. */
class ExampleAdapterProviderTest {

    @TempDir
    Path work;

    @Test
    void theCoreFindsTheAdapterByItsClassName() throws Exception {
        Path flows = Files.writeString(work.resolve("flows.txt"), "1 http://127.0.0.1:9/unreachable\n");
        try (var harness = AdapterHarness.load("ccc.adapter.example.ExampleAdapter")) {
            harness.start(Map.of("flowfile", flows.toString()));
            assertEquals("running", harness.appStatus(), harness.lastError().orElse(""));
            harness.stop();
            assertEquals("stopped", harness.appStatus());
        }
    }
}
