package ccc.adapter.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlowRunnerTest {

    @Test
    void parsesFlowsAndSkipsCommentsAndBlankLines() {
        var flows = FlowRunner.parse(List.of("# rate url", "", "2 http://127.0.0.1:8080/api/health", "0.5  https://example.invalid/x"));
        assertEquals(List.of(new FlowRunner.Flow(2, URI.create("http://127.0.0.1:8080/api/health")),
                new FlowRunner.Flow(0.5, URI.create("https://example.invalid/x"))), flows);
    }

    @Test
    void refusesMalformedLinesNamingTheLine() {
        var error = assertThrows(IllegalArgumentException.class, () -> FlowRunner.parse(List.of("# ok", "fast http://x")));
        assertTrue(error.getMessage().startsWith("flows line 2:"), error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FlowRunner.parse(List.of("-1 http://x")));
        assertThrows(IllegalArgumentException.class, () -> FlowRunner.parse(List.of("1 ftp://x")));
    }

    @Test
    void writesItsFiguresAndSwitchesItsLogLevel(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        var runner = new FlowRunner();
        var stats = dir.resolve("stats.properties");
        runner.writeStats(stats);
        assertEquals("sent=0\nerrors=0\nrate=0\nlog_level=INFO\n", java.nio.file.Files.readString(stats));
        runner.switchLogLevel();
        assertEquals("DEBUG", runner.logLevel());
        runner.switchLogLevel();
        assertEquals("INFO", runner.logLevel());
    }

    @Test
    void sendsRequestsAtTheFlowsRateAndCountsErrors() throws Exception {
        try (var server = new TinyHttpServer()) {
            var runner = new FlowRunner();
            runner.run(List.of(new FlowRunner.Flow(20, URI.create(server.url()))), 1000, null);
            Thread.sleep(200);
            // 20 a second for one second: about 20, with slack for a loaded machine.
            assertTrue(runner.sent() >= 10 && runner.sent() <= 25, "sent " + runner.sent());
            assertEquals(runner.sent(), server.served());
            assertEquals(0, runner.errors());
        }
        var refused = new FlowRunner();
        int closedPort;
        try (var probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        refused.send(URI.create("http://127.0.0.1:" + closedPort + "/"));
        assertEquals(1, refused.errors());
    }
}
