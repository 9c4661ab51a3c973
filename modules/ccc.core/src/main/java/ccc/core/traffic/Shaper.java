package ccc.core.traffic;

import ccc.api.TrafficControl;
import ccc.api.TrafficShape;
import ccc.core.log.Log;
import ccc.core.process.PrivilegedCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Shapes the outgoing traffic of one interface with {@code tc}: a token-bucket filter for
 * bandwidth, with a burst that suits the rate, and netem for delay, jitter and loss (netem at
 * the root, the rate limiter as its child, when both are asked for). Applying replaces whatever
 * root qdisc was there; clearing removes it.
 */
public final class Shaper implements TrafficControl {

    private static final Log LOG = Log.named("traffic");
    private static final Duration TC_TIMEOUT = Duration.ofSeconds(10);

    private final String networkInterface;
    private final boolean root;
    private final Optional<Path> tc;
    private volatile Optional<TrafficShape> applied = Optional.empty();

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

    @Override
    public void shape(TrafficShape shape) {
        if (!available()) {
            throw new IllegalStateException(unavailableReason());
        }
        clearQuietly();
        try {
            if (shape.emulatesNetwork()) {
                var netem = new ArrayList<>(List.of("qdisc", "add", "dev", networkInterface, "root", "handle", "1:", "netem"));
                if (shape.latencyMs() > 0 || shape.jitterMs() > 0) {
                    netem.addAll(List.of("delay", millis(shape.latencyMs())));
                    if (shape.jitterMs() > 0) {
                        netem.add(millis(shape.jitterMs()));
                    }
                }
                if (shape.lossPercent() > 0) {
                    netem.addAll(List.of("loss", number(shape.lossPercent()) + "%"));
                }
                run(netem, "netem (delay, jitter and loss) is not available in this kernel");
                if (shape.bandwidthMbps() > 0) {
                    run(rateLimiter("parent", "1:1", "10:", shape.bandwidthMbps()), null);
                }
            } else if (shape.bandwidthMbps() > 0) {
                run(rateLimiter("root", null, "1:", shape.bandwidthMbps()), null);
            }
        } catch (IllegalStateException e) {
            clearQuietly();
            throw e;
        }
        applied = shape.bandwidthMbps() > 0 || shape.emulatesNetwork() ? Optional.of(shape) : Optional.empty();
        LOG.info("traffic shaped", "interface", networkInterface, "bandwidth_mbps", shape.bandwidthMbps(),
                "latency_ms", shape.latencyMs(), "jitter_ms", shape.jitterMs(), "loss_percent", shape.lossPercent());
    }

    /** A token-bucket filter whose burst holds 10 ms at the rate, and never less than 32 KiB. */
    private List<String> rateLimiter(String where, String parent, String handle, double mbps) {
        long bytesPerSecond = (long) (mbps * 125_000);
        long burst = Math.max(32 * 1024, bytesPerSecond / 100);
        var command = new ArrayList<>(List.of("qdisc", "add", "dev", networkInterface));
        if (parent != null) {
            command.addAll(List.of(where, parent));
        } else {
            command.add(where);
        }
        command.addAll(List.of("handle", handle, "tbf", "rate", number(mbps) + "mbit", "burst", Long.toString(burst), "latency", "50ms"));
        return command;
    }

    @Override
    public void clear() {
        if (!available()) {
            return;
        }
        clearQuietly();
        if (applied.isPresent()) {
            LOG.info("traffic shaping removed", "interface", networkInterface);
        }
        applied = Optional.empty();
    }

    private void clearQuietly() {
        try {
            PrivilegedCommands.runQuietly(command(List.of("qdisc", "del", "dev", networkInterface, "root")), TC_TIMEOUT);
        } catch (PrivilegedCommands.CommandFailedException e) {
            // Nothing was there to remove.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run(List<String> arguments, String whenUnknownKind) {
        try {
            PrivilegedCommands.run(command(arguments), TC_TIMEOUT);
        } catch (PrivilegedCommands.CommandFailedException e) {
            if (whenUnknownKind != null && e.getMessage().contains("qdisc kind is unknown")) {
                throw new IllegalStateException(whenUnknownKind);
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

    private static String millis(double value) {
        return number(value) + "ms";
    }

    private static String number(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.3f", value);
    }
}
