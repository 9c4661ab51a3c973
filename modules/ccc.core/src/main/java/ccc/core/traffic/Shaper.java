package ccc.core.traffic;

import ccc.api.TrafficControl;
import ccc.api.TrafficShape;
import ccc.core.config.CoreConfig;
import ccc.core.log.Log;
import ccc.core.process.PrivilegedCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Shapes the outgoing traffic of one interface with {@code tc}, except the core's own API
 * traffic, which a shape must never cut off.
 *
 * <p>The root is an {@code htb} qdisc with the handle {@value #ROOT_HANDLE}, which marks it as
 * the core's: only a root with that handle is ever removed, and one left by a core that was
 * killed is removed at the next start. Its default class carries the workload's shape (rate and
 * ceil at the bandwidth, netem as its leaf for delay, jitter and loss); a second, unlimited
 * class carries TCP segments whose source port is one of the API's listening ports, and address
 * resolution (ARP, IPv6 neighbour discovery), picked by {@code u32} filters.
 */
public final class Shaper implements TrafficControl {

    /** The root qdisc's handle: the mark of the core's own shaping. */
    public static final String ROOT_HANDLE = "ccc:";

    private static final Log LOG = Log.named("traffic");
    private static final Duration TC_TIMEOUT = Duration.ofSeconds(10);
    private static final String API_CLASS = "ccc:1";
    private static final String WORKLOAD_CLASS = "ccc:10";
    private static final String WORKLOAD_LEAF = "10:";
    // Classes that limit nothing still need a rate: the highest one a shape may ask for.
    private static final double UNLIMITED_MBPS = CoreConfig.TrafficControlSection.MAX_BANDWIDTH_MBPS;
    private static final long MIN_BURST_BYTES = 32 * 1024;
    private static final double BURST_SECONDS = 0.010;
    private static final double QUEUE_SECONDS = 0.050;
    // htb's quantum only matters when classes borrow from each other, and these never do; set, it
    // keeps the kernel from warning about a quantum derived from a very high or low rate.
    private static final String QUANTUM = "1514";
    private static final String NETEM_MISSING = "netem (delay, jitter and loss) is not available in this kernel";

    private final String networkInterface;
    private final boolean root;
    private final Optional<Path> tc;
    private Set<Integer> exemptPorts = Set.of();
    private volatile Optional<TrafficShape> applied = Optional.empty();
    private volatile Consumer<Optional<TrafficShape>> changes = shape -> { };

    public Shaper(String networkInterface, boolean root, Optional<Path> tc) {
        this.networkInterface = networkInterface;
        this.root = root;
        this.tc = tc;
    }

    /** For this process: {@code tc} from the usual places. */
    public static Shaper system(String networkInterface, boolean root) {
        Optional<Path> tc = List.of("/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc").stream().map(Path::of)
                .filter(Files::isExecutable).findFirst();
        return new Shaper(networkInterface, root, tc);
    }

    @Override
    public boolean available() {
        return root && tc.isPresent();
    }

    /** Why shaping is not available, for {@code last_error}. */
    public String unavailableReason() {
        return !root ? "traffic control needs the core to run as root" : "traffic control needs tc (iproute2), which is not installed";
    }

    /** The shape applied last, until it is cleared. */
    public Optional<TrafficShape> applied() {
        return applied;
    }

    /**
     * Tells {@code listener} of every change of the shape in force: the new shape, or empty when
     * the core's shaping was removed. Called while the shaper is held, so it returns at once.
     */
    public void onChange(Consumer<Optional<TrafficShape>> listener) {
        changes = listener;
    }

    /** Records the shape in force and tells the listener when it changed. */
    private void inForce(Optional<TrafficShape> shape) {
        Optional<TrafficShape> before = applied;
        applied = shape;
        if (!before.equals(shape)) {
            changes.accept(shape);
        }
    }

    /**
     * Sets the TCP ports the core's API listens on: segments sent from them are never shaped. A
     * shape in force is applied again with the new ports.
     */
    public synchronized void exemptSourcePorts(Set<Integer> ports) {
        for (int port : ports) {
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("not a TCP port: " + port);
            }
        }
        exemptPorts = Set.copyOf(ports);
        if (applied.isPresent()) {
            shape(applied.get());
        }
    }

    /**
     * Removes the shaping a killed core left on the interface: a root qdisc with the core's
     * handle. Any other root qdisc is someone else's and stays.
     */
    public synchronized void removeLeftoverShaping() {
        if (available() && removeOwnRoot()) {
            LOG.warn("removed traffic shaping left by an earlier run", "interface", networkInterface, "handle", ROOT_HANDLE);
        }
    }

    /**
     * Replaces the root qdisc of the interface with {@code shape}; a shape with no limit at all
     * removes the core's shaping.
     *
     * @throws IllegalArgumentException when the bandwidth is below {@link CoreConfig.TrafficControlSection#MIN_BANDWIDTH_MBPS}
     * @throws IllegalStateException when shaping is not available or {@code tc} refuses
     */
    @Override
    public synchronized void shape(TrafficShape shape) {
        if (!available()) {
            throw new IllegalStateException(unavailableReason());
        }
        if (!CoreConfig.TrafficControlSection.validBandwidth(shape.bandwidthMbps())) {
            throw new IllegalArgumentException("bandwidth must be " + CoreConfig.TrafficControlSection.BANDWIDTH_RANGE
                    + " Mbit/s, got " + shape.bandwidthMbps());
        }
        removeOwnRoot();
        if (shape.bandwidthMbps() == 0 && !shape.emulatesNetwork()) {
            logRemoval();
            inForce(Optional.empty());
            return;
        }
        try {
            for (Step step : steps(shape)) {
                run(step);
            }
        } catch (IllegalStateException e) {
            removeOwnRoot();
            inForce(Optional.empty());
            throw e;
        }
        inForce(Optional.of(shape));
        LOG.info("traffic shaped", "interface", networkInterface, "bandwidth_mbps", shape.bandwidthMbps(),
                "latency_ms", shape.latencyMs(), "jitter_ms", shape.jitterMs(), "loss_percent", shape.lossPercent(),
                "unshaped_source_ports", new TreeSet<>(exemptPorts));
    }

    /** One {@code tc} command, and what to report when the kernel lacks the kind it names. */
    private record Step(List<String> arguments, String whenKindUnknown) {
    }

    private List<Step> steps(TrafficShape shape) {
        double mbps = shape.bandwidthMbps() > 0 ? shape.bandwidthMbps() : UNLIMITED_MBPS;
        var steps = new ArrayList<Step>();
        steps.add(step("htb is not available in this kernel", "qdisc", "replace", "dev", networkInterface, "root",
                "handle", ROOT_HANDLE, "htb", "default", "10"));
        steps.add(step(null, htbClass(API_CLASS, UNLIMITED_MBPS, "0")));
        steps.add(step(null, htbClass(WORKLOAD_CLASS, mbps, "1")));
        if (shape.emulatesNetwork()) {
            steps.add(step(NETEM_MISSING, netem(shape)));
        } else {
            // As tbf's latency bound did: a packet waits at most about 50 ms beyond the burst.
            long limit = burstBytes(mbps) + (long) (bytesPerSecond(mbps) * QUEUE_SECONDS);
            steps.add(step(null, "qdisc", "add", "dev", networkInterface, "parent", WORKLOAD_CLASS, "handle", WORKLOAD_LEAF,
                    "bfifo", "limit", Long.toString(limit)));
        }
        String filterMissing = "the u32 classifier is not available in this kernel";
        for (int port : new TreeSet<>(exemptPorts)) {
            // IPv4 only without options and unfragmented: otherwise bytes 20-21 need not be the
            // TCP source port, and such packets stay shaped rather than slip through.
            steps.add(step(filterMissing, filter("ip", "1", "match", "ip", "ihl", "5", "0xf", "match", "ip", "nofrag",
                    "match", "ip", "protocol", "6", "0xff", "match", "ip", "sport", Integer.toString(port), "0xffff")));
            steps.add(step(filterMissing, filter("ipv6", "2", "match", "ip6", "protocol", "6", "0xff",
                    "match", "ip6", "sport", Integer.toString(port), "0xffff")));
        }
        // Without address resolution no reply reaches the client; the workload cannot send these in bulk.
        steps.add(step(filterMissing, filter("arp", "3", "match", "u32", "0", "0")));
        for (String neighbourDiscovery : List.of("135", "136")) {
            steps.add(step(filterMissing, filter("ipv6", "2", "match", "ip6", "protocol", "58", "0xff",
                    "match", "u8", neighbourDiscovery, "0xff", "at", "40")));
        }
        return steps;
    }

    private Step step(String whenKindUnknown, String... arguments) {
        return new Step(List.of(arguments), whenKindUnknown);
    }

    /** A class directly under the root, which borrows from nothing: rate and ceil are its limit. */
    private String[] htbClass(String classId, double mbps, String priority) {
        String rate = Long.toString(Math.round(mbps * 1_000_000)) + "bit";
        String burst = Long.toString(burstBytes(mbps));
        return new String[] {"class", "add", "dev", networkInterface, "parent", ROOT_HANDLE, "classid", classId,
            "htb", "rate", rate, "ceil", rate, "burst", burst, "cburst", burst, "quantum", QUANTUM, "prio", priority};
    }

    private String[] netem(TrafficShape shape) {
        var netem = new ArrayList<>(List.of("qdisc", "add", "dev", networkInterface, "parent", WORKLOAD_CLASS,
                "handle", WORKLOAD_LEAF, "netem"));
        if (shape.latencyMs() > 0 || shape.jitterMs() > 0) {
            netem.addAll(List.of("delay", microseconds(shape.latencyMs())));
            if (shape.jitterMs() > 0) {
                netem.add(microseconds(shape.jitterMs()));
            }
        }
        if (shape.lossPercent() > 0) {
            netem.addAll(List.of("loss", String.format(Locale.ROOT, "%.4f%%", shape.lossPercent())));
        }
        return netem.toArray(String[]::new);
    }

    private String[] filter(String protocol, String priority, String... matches) {
        var filter = new ArrayList<>(List.of("filter", "add", "dev", networkInterface, "parent", ROOT_HANDLE,
                "protocol", protocol, "prio", priority, "u32"));
        filter.addAll(List.of(matches));
        filter.addAll(List.of("flowid", API_CLASS));
        return filter.toArray(String[]::new);
    }

    /** A burst of 10 ms at the rate, and never less than 32 KiB. */
    private static long burstBytes(double mbps) {
        return Math.max(MIN_BURST_BYTES, (long) (bytesPerSecond(mbps) * BURST_SECONDS));
    }

    private static double bytesPerSecond(double mbps) {
        return mbps * 125_000;
    }

    private static String microseconds(double millis) {
        return Math.round(millis * 1000) + "us";
    }

    @Override
    public synchronized void clear() {
        if (!available()) {
            return;
        }
        removeOwnRoot();
        logRemoval();
        inForce(Optional.empty());
    }

    private void logRemoval() {
        if (applied.isPresent()) {
            LOG.info("traffic shaping removed", "interface", networkInterface);
        }
    }

    /** Deletes the root qdisc only if it carries the core's handle (the kernel checks the handle); whether one was there. */
    private boolean removeOwnRoot() {
        try {
            PrivilegedCommands.runQuietly(command(List.of("qdisc", "del", "dev", networkInterface, "root", "handle", ROOT_HANDLE)), TC_TIMEOUT);
            return true;
        } catch (PrivilegedCommands.CommandFailedException e) {
            // None of the core's was there.
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void run(Step step) {
        try {
            PrivilegedCommands.runQuietly(command(step.arguments()), TC_TIMEOUT);
        } catch (PrivilegedCommands.CommandFailedException e) {
            if (step.whenKindUnknown() != null && e.getMessage().contains("kind is unknown")) {
                throw new IllegalStateException(step.whenKindUnknown());
            }
            throw new IllegalStateException(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while shaping traffic");
        }
    }

    private List<String> command(List<String> arguments) {
        var command = new ArrayList<String>();
        command.add(tc.orElseThrow().toString());
        command.addAll(arguments);
        return command;
    }
}
