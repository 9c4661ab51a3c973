package ccc.core.traffic;

import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.core.config.CoreConfig;
import ccc.core.json.Json;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Pattern;

/** Reads a traffic shape from a payload under the keys {@code traffic_control} names, with the configured defaults. */
public final class TrafficPlan {

    // Plain decimals only: Double.parseDouble alone would take "8d", "0x1p3" and "NaN"; parsed in
    // linear time, where BigDecimal spends seconds on a long string of digits.
    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");

    private final CoreConfig.TrafficControlSection config;

    public TrafficPlan(CoreConfig.TrafficControlSection config) {
        this.config = config;
    }

    /** A payload value that is not a number in range; the message names the key. */
    public static final class InvalidValue extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidValue(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The shape for a start payload: each key the payload lacks takes its configured default. A
     * bandwidth of 0, from either, sets no limit.
     */
    public TrafficShape forStart(Payload payload) throws InvalidValue {
        return new TrafficShape(
                bandwidth(payload, config.defaultBandwidthMbps()),
                value(payload, config.latencyMsKey(), config.defaultLatencyMs(), 0, 60_000),
                value(payload, config.jitterMsKey(), config.defaultJitterMs(), 0, 60_000),
                value(payload, config.lossPercentKey(), config.defaultLossPercent(), 0, 100));
    }

    /**
     * The shaping keys an update payload changes, each checked; empty when it carries none. The
     * change is applied later to whatever shape is in force then.
     */
    public Optional<ShapeChange> changeFor(Payload payload) throws InvalidValue {
        if (config.keys().stream().noneMatch(payload::has)) {
            return Optional.empty();
        }
        return Optional.of(new ShapeChange(
                payload.has(config.bandwidthMbpsKey()) ? OptionalDouble.of(bandwidth(payload, 0)) : OptionalDouble.empty(),
                changed(payload, config.latencyMsKey(), 0, 60_000),
                changed(payload, config.jitterMsKey(), 0, 60_000),
                changed(payload, config.lossPercentKey(), 0, 100)));
    }

    private double bandwidth(Payload payload, double fallback) throws InvalidValue {
        String key = config.bandwidthMbpsKey();
        Optional<Double> mbps = number(payload, key);
        if (mbps.isPresent() && !CoreConfig.TrafficControlSection.validBandwidth(mbps.get())) {
            throw invalid(payload, key, CoreConfig.TrafficControlSection.BANDWIDTH_RANGE);
        }
        return mbps.orElse(fallback);
    }

    private static OptionalDouble changed(Payload payload, String key, double min, double max) throws InvalidValue {
        return payload.has(key) ? OptionalDouble.of(value(payload, key, 0, min, max)) : OptionalDouble.empty();
    }

    /** The payload without the shaping keys, for the adapter. */
    public Payload withoutShaping(Payload payload) {
        var rest = new LinkedHashMap<>(payload.values());
        config.keys().forEach(rest::remove);
        return new Payload(rest);
    }

    private static double value(Payload payload, String key, double fallback, double min, double max) throws InvalidValue {
        Optional<Double> number = number(payload, key);
        if (number.isPresent() && !(number.get() >= min && number.get() <= max)) {
            throw invalid(payload, key, "a number from " + format(min) + " to " + format(max));
        }
        return number.orElse(fallback);
    }

    /**
     * The payload's number under {@code key}, from a numeric string too; NaN when the value is
     * not a number, empty when the key is absent.
     */
    private static Optional<Double> number(Payload payload, String key) {
        if (!payload.has(key)) {
            return Optional.empty();
        }
        Object raw = payload.values().get(key);
        if (raw instanceof Number number) {
            return Optional.of(number.doubleValue());
        }
        if (raw instanceof String text && DECIMAL.matcher(text.strip()).matches()) {
            return Optional.of(Double.parseDouble(text.strip()));
        }
        return Optional.of(Double.NaN);
    }

    /**
     * The refusal says what the value is, not what it holds: a payload may carry secrets (a
     * password in the wrong key), and the message reaches the client, last_error and the log.
     */
    private static InvalidValue invalid(Payload payload, String key, String expected) {
        Object raw = payload.values().get(key);
        boolean numeric = !number(payload, key).orElseThrow().isNaN();
        String got = raw instanceof String ? (numeric ? "a numeric string out of that range" : "a string that is not a number")
                : raw instanceof Number ? "a number out of that range" : Json.kind(raw);
        return new InvalidValue("payload key '" + key + "' must be " + expected + ", got " + got);
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
