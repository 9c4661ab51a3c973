package ccc.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One Prometheus metric family from an adapter: name, help, type and labelled samples. The
 * core checks names, labels and values and drops (and logs) a family that is invalid, so one
 * bad family never breaks a scrape.
 *
 * @param name the family name, matching {@code [a-zA-Z_:][a-zA-Z0-9_:]*}; without {@code _total} for counters
 * @param help a one-line description
 * @param type the family's type
 * @param samples the samples, each named with the family name or the family name plus a suffix
 * @since 0.1
 */
public record MetricFamily(String name, String help, MetricType type, List<Sample> samples) {

    public MetricFamily {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        help = help == null ? "" : help;
        samples = List.copyOf(samples);
    }

    /** A gauge with one unlabelled sample. */
    public static MetricFamily gauge(String name, String help, double value) {
        return new MetricFamily(name, help, MetricType.GAUGE, List.of(new Sample(name, Map.of(), value)));
    }

    /** A counter with one unlabelled sample, named {@code name_total}. */
    public static MetricFamily counter(String name, String help, double value) {
        return new MetricFamily(name, help, MetricType.COUNTER, List.of(new Sample(name + "_total", Map.of(), value)));
    }

    /**
     * One sample of a family.
     *
     * @param name the sample's name: the family name, or it with a suffix such as {@code _total}
     * @param labels label names and values
     * @param value the value
     */
    public record Sample(String name, Map<String, String> labels, double value) {

        public Sample {
            Objects.requireNonNull(name, "name");
            labels = Map.copyOf(labels);
        }
    }
}
