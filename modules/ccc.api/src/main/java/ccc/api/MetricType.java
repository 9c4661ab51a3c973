package ccc.api;

/**
 * The Prometheus type of a {@link MetricFamily}.
 *
 * @since 0.1
 */
public enum MetricType {
    /** A value that only goes up; its sample is named with the suffix {@code _total}. */
    COUNTER,
    /** A value that goes up and down. */
    GAUGE,
    /** Quantiles with {@code _sum} and {@code _count} samples. */
    SUMMARY,
    /** Buckets ({@code _bucket} with an {@code le} label), {@code _sum} and {@code _count} samples. */
    HISTOGRAM,
    /** A value of unknown type. */
    UNKNOWN
}
