package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code /api/metrics} keys Showrunner's own client configuration (the {@code containerControl}
 * block of an app's {@code appspec.json}) reads its cards from, served over real HTTP.
 */
class ShowrunnerCardsTest {

    private TestCore core;

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void containerPercentagesAndNetworkRatesAreServed() throws Exception {
        core = TestCore.start(new SleepAdapter(), "metrics: {network_monitoring: {enabled: true, interface: lo}}\n");
        // Longer than a reading is cached for (a second): registering the Prometheus collectors took one at start-up.
        long sent = sendOverLoopback(1500);
        Map<String, Object> metrics = core.get("/api/metrics").json();

        var system = (Map<String, Object>) metrics.get("system");
        var container = (Map<String, Object>) metrics.get("container");
        assertEquals(Map.of("cpu_percent", system.get("cpu_percent"), "memory_percent", system.get("memory_percent")), container);
        assertTrue(((Number) container.get("memory_percent")).doubleValue() > 0, container.toString());

        var network = (Map<String, Object>) metrics.get("network");
        double sentMbps = ((Number) network.get("bytes_sent_mbps")).doubleValue();
        double receivedMbps = ((Number) network.get("bytes_received_mbps")).doubleValue();
        // The window is about a second or two; a generous floor of a tenth of the rate over ten seconds.
        double floor = sent * 8 / 1e6 / 10;
        assertTrue(sentMbps > floor, sent + " bytes sent on loopback: " + network);
        assertTrue(receivedMbps > floor, sent + " bytes received on loopback: " + network);
        System.out.println("loopback: " + sent + " bytes in 1.5 s; /api/metrics: " + sentMbps + " Mbit/s sent, " + receivedMbps + " received");
    }

    /** Sends bytes to ourselves over loopback for {@code millis}; returns how many. */
    private static long sendOverLoopback(long millis) throws IOException, InterruptedException {
        byte[] chunk = new byte[64 * 1024];
        long sent = 0;
        try (var server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             var accepted = server.accept()) {
            Thread drain = Thread.ofVirtual().start(() -> {
                try {
                    accepted.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException e) {
                    // The client closed.
                }
            });
            long until = System.nanoTime() + millis * 1_000_000;
            while (System.nanoTime() < until) {
                client.getOutputStream().write(chunk);
                sent += chunk.length;
            }
            client.shutdownOutput();
            drain.join();
        }
        return sent;
    }
}
