package ccc.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.config.CoreConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cgroup v1 and v2 parsing on fixture trees, with and without limits, and live on this host. */
class CgroupsTest {

    private static final CoreConfig.MetricsSection METRICS = new CoreConfig.MetricsSection(true, Optional.empty(), true);

    @TempDir
    Path root;

    private void write(String relative, String content) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    private void hostProc() throws IOException {
        write("proc/meminfo", "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    8192000 kB\n");
        write("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
        write("proc/net/dev", """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo: 5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0
                  eth0: 1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
                  eth1:  300       3    0    0    0     0          0         0      400       4    0    0    0     0       0          0
                """);
    }

    /** A cgroup v2 container: private cgroup namespace, so the path is "/" and the mount root is "/". */
    private void v2(String cpuMax, String memoryMax) throws IOException {
        hostProc();
        write("proc/self/cgroup", "0::/\n");
        write("proc/self/mountinfo", "1210 1200 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n");
        write("sys/fs/cgroup/cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_periods 40\nnr_throttled 7\nthrottled_usec 350000\n");
        write("sys/fs/cgroup/cpu.max", cpuMax + "\n");
        write("sys/fs/cgroup/memory.current", "314572800\n");
        write("sys/fs/cgroup/memory.max", memoryMax + "\n");
        write("sys/fs/cgroup/memory.stat", "anon 104857600\nfile 209715200\nactive_file 104857600\ninactive_file 104857600\n");
        write("sys/fs/cgroup/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
        write("sys/fs/cgroup/pids.current", "12\n");
    }

    /** A cgroup v1 host or container, every controller mounted on its own. */
    private void v1(String cgroupPath, String mountRoot, String quota, String limit) throws IOException {
        hostProc();
        write("proc/self/cgroup", "12:pids:" + cgroupPath + "\n4:memory:" + cgroupPath + "\n2:cpu,cpuacct:" + cgroupPath
                + "\n1:name=systemd:" + cgroupPath + "\n0::/\n");
        write("proc/self/mountinfo", """
                30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
                31 30 0:28 ROOT /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
                34 30 0:31 ROOT /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
                38 30 0:35 ROOT /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
                40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                """.replace("ROOT", mountRoot));
        String dir = mountRoot.equals("/") ? cgroupPath : "/";
        write("sys/fs/cgroup/cpu,cpuacct" + dir + "/cpuacct.usage", "3000000000\n");
        write("sys/fs/cgroup/cpu,cpuacct" + dir + "/cpu.cfs_quota_us", quota + "\n");
        write("sys/fs/cgroup/cpu,cpuacct" + dir + "/cpu.cfs_period_us", "100000\n");
        write("sys/fs/cgroup/cpu,cpuacct" + dir + "/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 120000000\n");
        write("sys/fs/cgroup/memory" + dir + "/memory.usage_in_bytes", "536870912\n");
        write("sys/fs/cgroup/memory" + dir + "/memory.limit_in_bytes", limit + "\n");
        write("sys/fs/cgroup/memory" + dir + "/memory.stat", "cache 300000000\ninactive_file 1\ntotal_inactive_file 268435456\n");
        write("sys/fs/cgroup/memory" + dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        write("sys/fs/cgroup/pids" + dir + "/pids.current", "7\n");
    }

    @Test
    void readsCgroupV2WithLimits() throws IOException {
        v2("50000 100000", "536870912");
        CgroupSample sample = Cgroups.detect(root).orElseThrow().read();
        assertEquals(new CgroupSample(2, 2_000_000_000L, 0.5, 7, 350_000_000L, 314_572_800L, 536_870_912L, 104_857_600L, 2, 12), sample);
        assertEquals(209_715_200L, sample.workingSet());
    }

    @Test
    void readsCgroupV2WithoutLimits() throws IOException {
        v2("max 100000", "max");
        CgroupSample sample = Cgroups.detect(root).orElseThrow().read();
        assertEquals(0, sample.cpuQuotaCores());
        assertEquals(0, sample.memoryLimit());
    }

    @Test
    void readsCgroupV1OnAHybridHostWithLimits() throws IOException {
        v1("/kubepods/pod1/abc", "/", "150000", "1073741824");
        CgroupSample sample = Cgroups.detect(root).orElseThrow().read();
        assertEquals(new CgroupSample(1, 3_000_000_000L, 1.5, 4, 120_000_000L, 536_870_912L, 1_073_741_824L, 268_435_456L, 1, 7), sample);
    }

    @Test
    void readsCgroupV1InsideAContainerWhoseMountRootIsItsOwnCgroup() throws IOException {
        v1("/docker/0123abcd", "/docker/0123abcd", "-1", "9223372036854771712");
        CgroupSample sample = Cgroups.detect(root).orElseThrow().read();
        assertEquals(3_000_000_000L, sample.cpuUsageNanos());
        assertEquals(0, sample.cpuQuotaCores(), "no quota");
        assertEquals(0, sample.memoryLimit(), "a limit of 2^63 rounded to pages is no limit");
    }

    @Test
    void noCgroupMeansNoReader() throws IOException {
        hostProc();
        assertTrue(Cgroups.detect(root).isEmpty());
    }

    @Test
    void systemFiguresComeFromTheCgroupWithItsLimits() throws IOException {
        v2("50000 100000", "536870912");
        var clock = new AtomicLong(0);
        var metrics = new SystemMetrics(new HostReader(root, 4), Cgroups.detect(root), METRICS, clock::get);
        // 250 ms of CPU in one second is half a core, so 50% of a 0.5-core quota... of the quota: 0.25 / 0.5.
        write("sys/fs/cgroup/cpu.stat", "usage_usec 2250000\nnr_periods 50\nnr_throttled 8\nthrottled_usec 400000\n");
        clock.set(1_000_000_000L);
        var reading = metrics.read();
        assertEquals(0.25, reading.cpuCoresUsed(), 1e-9);
        assertEquals(50.0, reading.cpuPercent(), 1e-9);
        var json = reading.systemJson();
        assertEquals(50.0, json.get("cpu_percent"));
        assertEquals(39.1, json.get("memory_percent"), "working set 200 MiB of a 512 MiB limit");
        assertEquals(312.0, json.get("memory_available_mb"));
        assertEquals(200.0, json.get("memory_used_mb"));
        assertEquals(512.0, json.get("memory_limit_mb"));
        assertEquals(0.5, json.get("cpu_limit_cores"));
        assertEquals(8L, json.get("cpu_throttled_periods"));
        assertEquals(0.4, json.get("cpu_throttled_seconds"));
        assertEquals(2L, json.get("oom_kills"));
        assertEquals(12L, json.get("pids"));
        assertEquals(2, json.get("cgroup_version"));
        assertEquals(Map.of("bytes_sent", 2400L, "bytes_recv", 1300L, "packets_sent", 24L, "packets_recv", 13L,
                        "bytes_sent_mbps", 0.0, "bytes_received_mbps", 0.0), reading.networkJson(),
                "all interfaces but loopback, unchanged over the window");
        assertEquals(Map.of("cpu_percent", 50.0, "memory_percent", 39.1), reading.containerJson(), "as system has them");
    }

    @Test
    void withoutLimitsTheHostsMemoryAndCpusAreTheAllowance() throws IOException {
        v2("max 100000", "max");
        var clock = new AtomicLong(0);
        var metrics = new SystemMetrics(new HostReader(root, 4), Cgroups.detect(root), METRICS, clock::get);
        write("sys/fs/cgroup/cpu.stat", "usage_usec 3000000\n");
        clock.set(1_000_000_000L);
        var json = metrics.read().systemJson();
        assertEquals(25.0, json.get("cpu_percent"), "one core of four online CPUs");
        assertEquals(16000.0, json.get("memory_limit_mb"), "the host's MemTotal");
        assertEquals(1.3, json.get("memory_percent"));
    }

    @Test
    void outsideAnyCgroupTheHostsProcFiguresAreUsed() throws IOException {
        hostProc();
        var clock = new AtomicLong(0);
        var metrics = new SystemMetrics(new HostReader(root, 2), Optional.empty(),
                new CoreConfig.MetricsSection(true, Optional.of("eth1"), true), clock::get);
        write("proc/stat", "cpu  200 0 200 900 0 0 0 0 0 0\n");
        clock.set(1_000_000_000L);
        var reading = metrics.read();
        assertEquals(66.7, reading.systemJson().get("cpu_percent"), "200 busy of 300 ticks");
        assertEquals(50.0, reading.systemJson().get("memory_percent"));
        assertEquals(Map.of("bytes_sent", 400L, "bytes_recv", 300L, "packets_sent", 4L, "packets_recv", 3L,
                        "bytes_sent_mbps", 0.0, "bytes_received_mbps", 0.0), reading.networkJson(),
                "only the configured interface");
        assertEquals(Map.of("cpu_percent", 66.7, "memory_percent", 50.0), reading.containerJson(), "the host's, as system has them");
    }

    @Test
    void aMonitoredInterfaceThatIsNotThereIsSaidOnceNotReadAsZeroesInSilence() throws IOException {
        hostProc();
        var logged = new java.io.ByteArrayOutputStream();
        ccc.core.log.Log.redirect(new java.io.PrintStream(logged, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            var metrics = new SystemMetrics(new HostReader(root, 2), Optional.empty(),
                    new CoreConfig.MetricsSection(true, Optional.of("eth9"), true), new AtomicLong()::get);
            metrics.read();
            new SystemMetrics(new HostReader(root, 2), Optional.empty(),
                    new CoreConfig.MetricsSection(true, Optional.of("eth1"), true), new AtomicLong()::get);
            new SystemMetrics(new HostReader(root, 2), Optional.empty(),
                    new CoreConfig.MetricsSection(false, Optional.of("eth9"), true), new AtomicLong()::get);
        } finally {
            ccc.core.log.Log.redirect(System.out);
        }
        String log = logged.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, log.lines().filter(line -> line.contains("WARN")).count(), "only the monitored interface that is missing: " + log);
        assertTrue(log.contains("metrics.network_monitoring.interface names no interface here; its figures read 0 until it appears"
                + " interface=eth9 interfaces=eth0,eth1,lo"), log);
    }

    private void netDev(long eth0Received, long eth0Sent) throws IOException {
        write("proc/net/dev", """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo: 9000000   50    0    0    0     0          0         0     9000000   50    0    0    0     0       0          0
                  eth0: %d      10    0    0    0     0          0         0     %d       20    0    0    0     0       0          0
                """.formatted(eth0Received, eth0Sent));
    }

    @Test
    void networkRatesAreTheCountersChangeOverTheSamplingWindowInMegabits() throws IOException {
        v2("max 100000", "max");
        netDev(1000, 2000);
        var clock = new AtomicLong(0);
        var metrics = new SystemMetrics(new HostReader(root, 4), Cgroups.detect(root), METRICS, clock::get);
        // 1.25 MB sent and 0.25 MB received in two seconds: 5 and 1 Mbit/s.
        netDev(1000 + 250_000, 2000 + 1_250_000);
        clock.set(2_000_000_000L);
        var json = metrics.read().networkJson();
        assertEquals(5.0, json.get("bytes_sent_mbps"));
        assertEquals(1.0, json.get("bytes_received_mbps"));
        // 100 ms later the window still starts at the sample at least 200 ms old: 2.1 s of traffic.
        netDev(1000 + 250_000, 2000 + 2_625_000);
        clock.set(2_100_000_000L);
        json = metrics.read().networkJson();
        assertEquals(10.0, json.get("bytes_sent_mbps"), "2.625 MB over 2.1 s");
        assertEquals(0.952, json.get("bytes_received_mbps"), "0.25 MB over 2.1 s");
        // A counter that went down (an interface replaced) gives no rate, not a negative one.
        netDev(10, 20);
        clock.set(3_000_000_000L);
        json = metrics.read().networkJson();
        assertEquals(0.0, json.get("bytes_sent_mbps"));
        assertEquals(0.0, json.get("bytes_received_mbps"));
    }

    @Test
    void readsThisHostsOwnCgroup() throws Exception {
        var reader = Cgroups.system();
        assertTrue(reader.isPresent(), "this host mounts a cgroup hierarchy");
        CgroupSample before = reader.get().read();
        assertTrue(before.memoryUsage() > 0, before.toString());
        assertTrue(before.cpuUsageNanos() > 0, before.toString());
        long until = System.nanoTime() + 300_000_000L;
        long spin = 0;
        while (System.nanoTime() < until) {
            spin++;
        }
        CgroupSample after = reader.get().read();
        assertTrue(after.cpuUsageNanos() - before.cpuUsageNanos() >= 100_000_000L,
                "300 ms of spinning (" + spin + " turns) shows in the cgroup's CPU time: " + before + " -> " + after);
        String hierarchy = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
                .anyMatch(line -> line.contains(":memory:")) ? "v1" : "v2";
        assertEquals(hierarchy.equals("v1") ? 1 : 2, after.version());
    }
}
