package ccc.adapter.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
    void sendsRequestsAtTheFlowsRateAndCountsErrors() throws Exception {
        var served = new AtomicInteger();
        try (var server = new ServerSocket(0)) {
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try (var socket = server.accept()) {
                        var in = socket.getInputStream();
                        byte[] buffer = new byte[4096];
                        var request = new StringBuilder();
                        while (!request.toString().contains("\r\n\r\n")) {
                            int read = in.read(buffer);
                            if (read < 0) {
                                break;
                            }
                            request.append(new String(buffer, 0, read, StandardCharsets.ISO_8859_1));
                        }
                        served.incrementAndGet();
                        socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                                .getBytes(StandardCharsets.ISO_8859_1));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            var runner = new FlowRunner();
            runner.run(List.of(new FlowRunner.Flow(20, URI.create("http://127.0.0.1:" + server.getLocalPort() + "/"))), 1000);
            Thread.sleep(200);
            // 20 a second for one second: about 20, with slack for a loaded machine.
            assertTrue(runner.sent() >= 10 && runner.sent() <= 25, "sent " + runner.sent());
            assertEquals(runner.sent(), served.get());
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
