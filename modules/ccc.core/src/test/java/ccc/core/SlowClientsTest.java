package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** 200 connections trickling their headers a byte at a time must not keep {@code /api/health} waiting. */
class SlowClientsTest {

    private TestCore core;
    private final List<Socket> slow = new ArrayList<>();

    @BeforeEach
    void startCore() throws Exception {
        core = TestCore.start(new SleepAdapter(), "");
    }

    @AfterEach
    void stopCore() throws IOException {
        for (Socket socket : slow) {
            socket.close();
        }
        core.close();
    }

    @Test
    void healthAnswersQuicklyWhile200ClientsTrickleTheirHeaders() throws Exception {
        byte[] request = "GET /api/status HTTP/1.1\r\nHost: slow\r\nX-Padding: trickle-trickle-trickle\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        var streams = new ArrayList<OutputStream>();
        for (int i = 0; i < 200; i++) {
            Socket socket = new Socket("127.0.0.1", core.core.port());
            slow.add(socket);
            streams.add(socket.getOutputStream());
        }
        var latencies = new ArrayList<Long>();
        // One byte per connection per round, 50 ms apart: a request takes the trickler several seconds.
        for (int round = 0; round < 40; round++) {
            for (OutputStream out : streams) {
                out.write(request[Math.min(round, 20)]);
                out.flush();
            }
            long asked = System.nanoTime();
            assertEquals(200, core.get("/api/health").status());
            latencies.add((System.nanoTime() - asked) / 1_000_000);
            Thread.sleep(50);
        }
        List<Long> sorted = latencies.stream().sorted().toList();
        long median = sorted.get(sorted.size() / 2);
        System.out.println("/api/health while 200 clients trickle, ms: median " + median + ", max " + sorted.getLast() + ", all " + latencies);
        assertTrue(median < 100, "median " + median + " ms");
    }
}
