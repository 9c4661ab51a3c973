package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delay, jitter and loss on a kernel that has netem: this machine's kernel has none, so the
 * runtime image runs in a user-mode Linux guest (Debian's {@code user-mode-linux}, a 6.1 kernel
 * run as an ordinary process, with netem, htb and u32 as modules), with the host's root as its
 * file system. The guest's init script loads the modules, brings {@code lo} up, starts the core
 * shaping {@code lo} and runs {@link NetemProbe}, which writes its figures to a file here; then
 * the guest powers off. This test judges the figures.
 */
class NetemUmlIT {

    private static final Path UML = Path.of("/usr/bin/linux");
    private static final Path UML_MODULES = Path.of("/usr/lib/uml/modules");
    // Booting takes about 5 s and the whole run about a minute; a guest that hangs is killed.
    private static final long GUEST_TIMEOUT_SECONDS = 300;
    private static final int CORE_PORT = 8080;

    @TempDir
    Path work;

    @Test
    void delayJitterAndLossAreEmulatedAndChangedLiveOnAKernelWithNetem() throws Exception {
        Requirements.require(Files.isExecutable(UML), "user-mode-linux is not installed (/usr/bin/linux): netem is tested in a UML guest");
        Requirements.require(Stream.of("/usr/sbin/insmod", "/sbin/insmod").map(Path::of).anyMatch(Files::isExecutable),
                "insmod (kmod) is not installed: the UML guest loads netem with it");
        Requirements.require(Stream.of("/usr/sbin/tc", "/sbin/tc").map(Path::of).anyMatch(Files::isExecutable), "tc (iproute2) is not installed");
        Path results = work.resolve("results.properties");
        Path config = Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sleep, '100000']
                traffic_control:
                  enabled: true
                  interface: lo
                """);
        Path init = guestInit(config, results);

        long began = System.nanoTime();
        var console = work.resolve("console.log");
        var guest = new ProcessBuilder(UML.toString(), "mem=1536M", "rootfstype=hostfs", "rootflags=/", "rw",
                "uml_dir=" + work, "umid=ccc-netem", "init=" + init)
                .redirectErrorStream(true).redirectOutput(console.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            boolean poweredOff = guest.waitFor(GUEST_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertTrue(poweredOff, "the guest did not power off within " + GUEST_TIMEOUT_SECONDS + " s:\n" + tail(console));
        } finally {
            guest.descendants().forEach(ProcessHandle::destroyForcibly);
            guest.destroyForcibly();
            guest.waitFor(10, TimeUnit.SECONDS);
        }
        double seconds = (System.nanoTime() - began) / 1e9;
        String diagnostics = "\nconsole:\n" + tail(console) + "\ncore:\n" + read(work.resolve("core.log"))
                + "\nprobe:\n" + read(work.resolve("probe.log"));
        assertTrue(Files.exists(results), "the guest wrote no results:" + diagnostics);
        var figures = new Properties();
        try (InputStream in = Files.newInputStream(results)) {
            figures.load(in);
        }
        assertNull(figures.getProperty("error"), figures.getProperty("error") + diagnostics);
        var numbers = new TreeMap<String, String>();
        figures.stringPropertyNames().stream().filter(key -> !key.endsWith("qdiscs") && !key.endsWith("filters"))
                .forEach(key -> numbers.put(key, figures.getProperty(key)));
        System.out.println("netem in a UML guest, " + Math.round(seconds) + " s in all: " + numbers);

        String shaped = figures.getProperty("delay40.qdiscs");
        assertTrue(shaped.contains("qdisc htb ccc: root") && shaped.contains("netem"), shaped);
        assertFalse(figures.getProperty("stopped.qdiscs").contains("ccc:"), figures.getProperty("stopped.qdiscs"));

        // netem never delivers early, while the guest's scheduler now and then delivers late: the
        // minimum of a run proves a delay, the median bounds it loosely.
        assertTrue(number(figures, "unshaped.connect_ms.median") < 5, "unshaped loopback connects: " + figures.getProperty("unshaped.connect_ms.median"));
        // A handshake to the workload's listener crosses the delayed queue twice: SYN and SYN-ACK.
        assertBetween(figures, "delay40.connect_ms.min", 79, 100);
        assertBetween(figures, "delay40.connect_ms.median", 79, 120);
        // To the API's port only the SYN is delayed: the SYN-ACK leaves from the exempt port.
        assertBetween(figures, "delay40.api.connect_ms.min", 39, 70);
        assertBetween(figures, "delay10.connect_ms.min", 19, 35);
        assertBetween(figures, "delay10.connect_ms.median", 19, 50);
        // 40 ± 20 ms each way, uniform: connects spread over 40 to 120 ms, the 10th and 90th
        // percentiles near 58 and 102 ms. Connects faster than 80 ms only jitter can explain.
        assertBetween(figures, "jitter.connect_ms.min", 39, 70);
        assertBetween(figures, "jitter.connect_ms.p10", 39, 76);
        assertBetween(figures, "jitter.connect_ms.median", 60, 120);
        assertTrue(number(figures, "jitter.spread_ms") >= 20, "10th to 90th percentile: " + number(figures, "jitter.spread_ms") + " ms");
        // 10 % of 2000 datagrams: 200 expected, 13 the standard deviation.
        int sent = (int) number(figures, "loss.udp.sent");
        int lost = sent - (int) number(figures, "loss.udp.received");
        assertEquals(2000, sent);
        assertTrue(lost >= 130 && lost <= 270, lost + " of " + sent + " datagrams lost at 10 %");
        // 8 Mbit/s with netem as htb's leaf: 20 ms each way, and the rate.
        assertBetween(figures, "rate8.connect_ms.min", 39, 60);
        assertBetween(figures, "rate8.mbps", 3, 10);
        assertTrue(number(figures, "stopped.connect_ms.median") < 10, "after the stop: " + figures.getProperty("stopped.connect_ms.median"));
    }

    /**
     * PID 1 of the guest. It powers off whatever happens, since an init that exits panics the
     * guest kernel; each step that could hang is bounded by {@code timeout}.
     */
    private Path guestInit(Path config, Path results) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classes = Path.of(locationOf(NetemProbe.class)).toString();
        String script = """
                #!/bin/sh
                trap 'poweroff -f' EXIT
                export PATH=/usr/sbin:/usr/bin:/sbin:/bin
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                for module in sch_netem sch_htb sch_tbf cls_u32; do
                  insmod "$(find %1$s/"$(uname -r)" -name "$module.ko" | head -n 1)" || echo "guest: $module did not load"
                done
                ip link set lo up
                cd %2$s
                # Perf data off: the guest's /tmp is the host's, shared with the host's JVMs. C1 only:
                # the guest has one CPU, and less compiling leaves fewer stalls in the measurements.
                CCC_HOST=127.0.0.1 CCC_PORT=%3$d CCC_JAVA_OPTIONS="-XX:-UsePerfData -XX:TieredStopAtLevel=1" \\
                  timeout 240 %4$s/bin/ccc --config %5$s > core.log 2>&1 &
                core=$!
                timeout 200 %6$s -Xmx64m -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1 -Djava.io.tmpdir=%2$s \\
                  -cp %7$s %8$s %3$d %9$s > probe.log 2>&1
                echo "guest: probe exited with $?"
                kill -TERM $core
                timeout 30 sh -c "while kill -0 $core 2>/dev/null; do sleep 0.2; done"
                """.formatted(UML_MODULES, work, CORE_PORT, ImageProcess.IMAGE, config, java, classes,
                NetemProbe.class.getName(), results);
        Path init = work.resolve("guest-init.sh");
        Files.writeString(init, script);
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
        return init;
    }

    private static URI locationOf(Class<?> type) {
        try {
            return type.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertBetween(Properties figures, String name, double low, double high) {
        double value = number(figures, name);
        assertTrue(value >= low && value <= high, name + " = " + value + ", expected " + low + " to " + high);
    }

    /** A figure, or for {@code NAME.spread_ms} the distance between the 10th and 90th percentiles of NAME's connects. */
    private static double number(Properties figures, String name) {
        if (name.endsWith(".spread_ms")) {
            String phase = name.substring(0, name.length() - ".spread_ms".length());
            return number(figures, phase + ".connect_ms.p90") - number(figures, phase + ".connect_ms.p10");
        }
        String value = figures.getProperty(name);
        assertTrue(value != null, "no figure " + name + " in " + figures);
        return Double.parseDouble(value);
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "(no " + file.getFileName() + ")";
    }

    /** The last lines of the guest's console, where its kernel and init script speak. */
    private static String tail(Path console) throws IOException {
        if (!Files.exists(console)) {
            return "(no console output)";
        }
        List<String> lines = Files.readAllLines(console, StandardCharsets.ISO_8859_1);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
