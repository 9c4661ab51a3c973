package ccc.api;

/**
 * How the core shapes the workload's outgoing traffic on the configured interface.
 *
 * @param bandwidthMbps the rate limit in megabits per second; 0 for none
 * @param latencyMs added delay in milliseconds; 0 for none
 * @param jitterMs variation of the added delay in milliseconds; 0 for none
 * @param lossPercent share of packets dropped, 0 to 100
 * @since 0.1
 */
public record TrafficShape(double bandwidthMbps, double latencyMs, double jitterMs, double lossPercent) {

    public TrafficShape {
        check("bandwidthMbps", bandwidthMbps, 0, 100_000);
        check("latencyMs", latencyMs, 0, 60_000);
        check("jitterMs", jitterMs, 0, 60_000);
        check("lossPercent", lossPercent, 0, 100);
    }

    /** A bandwidth limit alone. */
    public static TrafficShape bandwidth(double megabitsPerSecond) {
        return new TrafficShape(megabitsPerSecond, 0, 0, 0);
    }

    /** Whether any delay, jitter or loss is asked for, which needs the kernel's netem. */
    public boolean emulatesNetwork() {
        return latencyMs > 0 || jitterMs > 0 || lossPercent > 0;
    }

    private static void check(String name, double value, double min, double max) {
        if (!Double.isFinite(value) || value < min || value > max) {
            throw new IllegalArgumentException(name + " must be a number from " + min + " to " + max + ", got " + value);
        }
    }
}
