package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traffic control with real {@code tc}: the core runs inside a network namespace joined to the
 * host's by a veth pair, and the effect is measured on traffic that crosses it.
 */
class TrafficControlIT {

    private final int id = ThreadLocalRandom.current().nextInt(10_000, 99_999);
    private final String namespace = "ccc-tc-" + id;
    private final String hostSide = "vh" + id;
    private final String coreSide = "vn" + id;
    private final int subnet = 1 + id % 250;
    private final String hostAddress = "10.231." + subnet + ".1";
    private final String coreAddress = "10.231." + subnet + ".2";

    @TempDir
    Path work;

    private static String run(String... command) throws IOException, InterruptedException {
        var process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }


    @BeforeEach
    void joinNamespaces() throws Exception {
        Requirements.require(ProcTable.isRoot(), "network namespaces and tc need root (run the tests as root to cover them)");
        Requirements.require(Files.isExecutable(Path.of("/usr/sbin/tc")) || Files.isExecutable(Path.of("/sbin/tc")), "tc (iproute2) is not installed");
        run("ip", "netns", "add", namespace);
        run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", coreSide);
        run("ip", "link", "set", coreSide, "netns", namespace);
        run("ip", "addr", "add", hostAddress + "/30", "dev", hostSide);
        run("ip", "link", "set", hostSide, "up");
        run("ip", "-n", namespace, "addr", "add", coreAddress + "/30", "dev", coreSide);
        run("ip", "-n", namespace, "link", "set", coreSide, "up");
        run("ip", "-n", namespace, "link", "set", "lo", "up");
    }

    @AfterEach
    void removeNamespaces() throws Exception {
        if (ProcTable.isRoot()) {
            new ProcessBuilder("ip", "netns", "del", namespace).start().waitFor();
            new ProcessBuilder("ip", "link", "del", hostSide).start().waitFor();
        }
    }

    private ImageProcess launch(String config) throws IOException {
        return ImageProcess.launchUnder(List.of("ip", "netns", "exec", namespace), work,
                Map.of("CCC_HOST", coreAddress), "--config", Files.writeString(work.resolve("config.yaml"), config).toString());
    }

    private String qdiscs() throws Exception {
        return run("ip", "netns", "exec", namespace, "tc", "qdisc", "show", "dev", coreSide);
    }

    /** Megabits per second of 2 MB sent from the core's namespace to the host, across the shaped interface. */
    private double throughputMbps() throws Exception {
        int bytes = 2_000_000;
        try (var server = new ServerSocket(0, 1, InetAddress.getByName(hostAddress))) {
            var received = new long[1];
            Thread reader = Thread.ofPlatform().start(() -> {
                try (var socket = server.accept(); InputStream in = socket.getInputStream()) {
                    received[0] = in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // Counted as short below.
                }
            });
            long began = System.nanoTime();
            run("ip", "netns", "exec", namespace, "bash", "-c",
                    "head -c " + bytes + " /dev/zero > /dev/tcp/" + hostAddress + "/" + server.getLocalPort());
            reader.join(30_000);
            double seconds = (System.nanoTime() - began) / 1e9;
            assertEquals(bytes, received[0]);
            return bytes * 8 / 1e6 / seconds;
        }
    }

    /** The average round-trip time of five pings from the core's namespace to the host. */
    private double averageRoundTripMs() throws Exception {
        String ping = run("ip", "netns", "exec", namespace, "ping", "-c", "5", "-i", "0.2", hostAddress);
        return Double.parseDouble(ping.replaceAll("(?s).*= [\\d.]+/([\\d.]+)/.*", "$1"));
    }

    private void awaitPhase(ImageProcess core, String phase) throws Exception {
        Instant deadline = Instant.now().plusSeconds(20);
        String status = "";
        while (Instant.now().isBefore(deadline)) {
            status = core.request("GET", "/api/status", null).body();
            if (status.contains("\"phase\":\"" + phase + "\"")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("never " + phase + ": " + status + "\n" + core.output());
    }

    @Test
    void bandwidthIsShapedMeasurablyChangedLiveAndRemovedAtStop() throws Exception {
        try (var core = launch("""
                process_management:
                  enabled: true
                  command: [sleep, '100000']
                traffic_control:
                  enabled: true
                  interface: %s
                  bandwidth_mbps_key: bandwidth_limit_mbps
                  default_bandwidth_mbps: 100
                """.formatted(coreSide))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            double unshaped = throughputMbps();

            var bad = core.request("POST", "/api/start", "{\"bandwidth_limit_mbps\": \"fast\"}");
            assertEquals(400, bad.status());
            assertTrue(bad.body().contains("payload key 'bandwidth_limit_mbps' must be a number from 0.001 to 100000, got 'fast'"), bad.body());
            assertEquals(400, core.request("POST", "/api/start", "{\"bandwidth_limit_mbps\": -5}").status());
            assertEquals(400, core.request("POST", "/api/start", "{\"loss_percent\": 150}").status());

            assertEquals(200, core.request("POST", "/api/start", "{\"bandwidth_limit_mbps\": 8}").status());
            awaitPhase(core, "running");
            assertTrue(qdiscs().contains("tbf"), qdiscs());
            double shaped = throughputMbps();
            assertTrue(shaped < 8 * 1.5, "8 Mbit/s limit, measured " + shaped);

            var update = core.request("POST", "/api/update", "{\"bandwidth_limit_mbps\": 32}");
            assertEquals(200, update.status(), "a shaping-only update is applied even with no live update in the adapter: " + update.body());
            double updated = throughputMbps();
            assertTrue(updated > shaped * 2 && updated < 32 * 1.5, "32 Mbit/s after the update, measured " + updated + " (was " + shaped + ")");

            assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            awaitPhase(core, "stopped");
            assertFalse(qdiscs().contains("tbf"), qdiscs());
            double after = throughputMbps();
            assertTrue(after > updated * 2, "no limit after the stop: " + after + " Mbit/s");
            System.out.println("throughput, Mbit/s: unshaped " + Math.round(unshaped) + ", shaped to 8: " + Math.round(shaped)
                    + ", updated to 32: " + Math.round(updated) + ", after stop: " + Math.round(after));

            core.process.destroy();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, core.process.exitValue());
        }
    }

    @Test
    void aFailingPreStartCommandLeavesNoWorkloadAndNoQdisc() throws Exception {
        String marker = "5" + id + ".25";
        try (var core = launch("""
                privileged_commands:
                  pre_start: [["sh", "-c", "echo sysctl refused >&2; exit 3"]]
                process_management:
                  enabled: true
                  command: [sleep, '%s']
                traffic_control:
                  enabled: true
                  interface: %s
                """.formatted(marker, coreSide))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{\"bandwidth_limit_mbps\": 8}").status());
            awaitPhase(core, "failed");
            String status = core.request("GET", "/api/status", null).body();
            assertTrue(status.contains("exited with 3: sysctl refused"), status);
            assertFalse(qdiscs().contains("tbf"), qdiscs());
            assertFalse(run("ps", "-eo", "args").contains("sleep " + marker));
        }
    }

    @Test
    void addedDelayShowsUpInRoundTripTimes() throws Exception {
        boolean netem = new ProcessBuilder("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms")
                .start().waitFor() == 0;
        // Not Requirements.require: no package installs netem; it is part of the kernel or not.
        assumeTrue(netem, "skipped: this kernel has no netem (CONFIG_NET_SCH_NETEM), so delay cannot be emulated here");
        try (var core = launch("""
                process_management:
                  enabled: true
                  command: [sleep, '100000']
                traffic_control:
                  enabled: true
                  interface: %s
                """.formatted(coreSide))) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            assertEquals(200, core.request("POST", "/api/start", "{\"latency_ms\": 80}").status());
            awaitPhase(core, "running");
            double average = averageRoundTripMs();
            assertTrue(average >= 75, "80 ms added, measured " + average);
            assertEquals(200, core.request("POST", "/api/update", "{\"latency_ms\": 10}").status());
            double faster = averageRoundTripMs();
            assertTrue(faster < 50, "10 ms after the update, measured " + faster);
            assertEquals(200, core.request("POST", "/api/stop", "{}").status());
            awaitPhase(core, "stopped");
            assertFalse(qdiscs().contains("netem"), qdiscs());
        }
    }
}
