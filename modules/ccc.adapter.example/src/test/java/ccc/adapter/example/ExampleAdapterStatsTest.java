package ccc.adapter.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.testkit.AdapterHarness;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stats file is the workload's to write, and the adapter reads it (as root, in the image):
 * what the workload can put in its place (a huge file, a link to root's files, a FIFO) neither
 * holds the read up, nor grows it without bound, nor reaches anything but the file itself.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a guard against a read that blocks, not a speed goal
class ExampleAdapterStatsTest {

    @TempDir
    Path dir;

    private TinyHttpServer target;
    private AdapterHarness harness;
    private long pid;
    private Path stats;

    @BeforeEach
    void startTheRunnerAndFreezeIt() throws Exception {
        target = new TinyHttpServer();
        harness = AdapterHarness.of(new ExampleAdapter());
        Path flows = Files.writeString(dir.resolve("flows.txt"), "20 " + target.url() + "\n");
        harness.start(Map.of("flowfile", flows.toString()));
        harness.awaitMetrics(metrics -> ((Number) metrics.getOrDefault("requests_sent", 0)).longValue() >= 1);
        pid = harness.pid().orElseThrow();
        List<String> arguments = List.of(ProcessHandle.of(pid).orElseThrow().info().arguments().orElseThrow());
        stats = Path.of(arguments.get(arguments.indexOf("--stats") + 1));
        // Stopped, the runner no longer rewrites the file, so what the test puts there stays.
        signal("STOP");
    }

    @AfterEach
    void stop() throws Exception {
        signal("CONT");
        harness.close();
        target.close();
    }

    private void signal(String name) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(pid)).start().waitFor();
    }

    @Test
    void theStatsFileLivesInADirectoryOnlyTheWorkloadsUserReaches() throws Exception {
        assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(stats.getParent(), LinkOption.NOFOLLOW_LINKS));
        assertEquals(Files.getAttribute(stats, "unix:uid"), Files.getAttribute(stats.getParent(), "unix:uid"));
    }

    @Test
    void aHugeSparseFileIsReadOnlyUpToTheBound() throws Exception {
        Files.delete(stats);
        try (var file = new RandomAccessFile(stats.toFile(), "rw")) {
            file.write("sent=7\n".getBytes(StandardCharsets.ISO_8859_1));
            long gigabyte = 1L << 30;
            file.setLength(gigabyte);
            file.seek(gigabyte);
            // Read to the end, this would override the first figure.
            file.write("\nsent=999\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        Map<String, Object> metrics = harness.metrics();
        assertEquals(7L, metrics.get("requests_sent"), metrics.toString());
        assertEquals(true, metrics.get("running"));
    }

    @Test
    void aLinkToAnotherFileIsNotFollowed() throws Exception {
        Path secret = Files.writeString(dir.resolve("secret.properties"), "sent=987654321\n");
        Files.delete(stats);
        Files.createSymbolicLink(stats, secret);
        if ("root".equals(System.getProperty("user.name"))) {
            // As the workload's user would have made it: a link root made itself is one only root could have made, and followed.
            Files.setAttribute(stats, "unix:uid", 54321, LinkOption.NOFOLLOW_LINKS);
        }
        Map<String, Object> metrics = harness.metrics();
        assertEquals(0L, metrics.get("requests_sent"), metrics.toString());
        assertFalse(metrics.toString().contains("987654321"));
    }

    @Test
    void aFifoIsNotOpened() throws Exception {
        Files.delete(stats);
        assertEquals(0, new ProcessBuilder("mkfifo", stats.toString()).start().waitFor());
        Map<String, Object> metrics = harness.metrics();
        assertEquals(0L, metrics.get("requests_sent"), metrics.toString());
    }

    @Test
    void aFifoSwappedInAndOutWhileFiguresAreReadNeverHoldsARead() throws Exception {
        Path regular = stats.resolveSibling(".regular");
        Path fifo = stats.resolveSibling(".fifo");
        var swapping = new java.util.concurrent.atomic.AtomicBoolean(true);
        var swaps = new java.util.concurrent.atomic.AtomicInteger();
        // What a workload does between the adapter's check of the file and its open, had it one.
        Thread swapper = Thread.ofPlatform().start(() -> {
            try {
                while (swapping.get()) {
                    Files.writeString(regular, "sent=5\n");
                    Files.move(regular, stats, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
                        Files.move(fifo, stats, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    }
                    swaps.incrementAndGet();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        var seen = new java.util.HashSet<Object>();
        try {
            long end = System.nanoTime() + java.time.Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < end || swaps.get() < 20) {
                // A read blocked on the FIFO would never return (the class's timeout ends the test).
                Map<String, Object> metrics = harness.metrics();
                assertFalse(metrics.containsKey("error"), metrics.toString());
                seen.add(metrics.get("requests_sent"));
            }
        } finally {
            swapping.set(false);
            swapper.join();
        }
        assertTrue(seen.contains(5L), "figures read between swaps: " + seen);
    }
}
