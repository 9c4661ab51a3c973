package ccc.api;

/**
 * The core's traffic-control service, for adapters that shape their workload's traffic
 * themselves (for example in {@link Adapter#preStart}) instead of calling {@code tc}. The shape
 * is removed by the core's stop sequence.
 *
 * @since 0.1
 */
public interface TrafficControl {

    /** Whether shaping is possible here: the core runs as root and {@code tc} is installed. */
    boolean available();

    /**
     * Replaces the root qdisc of the configured interface with {@code shape}.
     *
     * @throws IllegalStateException when shaping is not available or {@code tc} refuses
     */
    void shape(TrafficShape shape);

    /** Removes any shaping from the configured interface. */
    void clear();
}
