package ccc.core.traffic;

import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.core.config.CoreConfig;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.OptionalDouble;

/** Reads a traffic shape from a payload under the keys {@code traffic_control} names, with the configured defaults. */
public final class TrafficPlan {

    private final CoreConfig.TrafficControl config;

    public TrafficPlan(CoreConfig.TrafficControl config) {
        this.config = config;
    }

    /** A payload value that is not a number in range; the message names the key. */
    public static final class InvalidValue extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidValue(String message) {
            super(message, null, false, false);
        }
    }

    /** The shape for a start payload. */
    public TrafficShape forStart(Payload payload) throws InvalidValue {
        return new TrafficShape(
                value(payload, config.bandwidthMbpsKey(), config.defaultBandwidthMbps(), 0.001, 100_000),
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
                changed(payload, config.bandwidthMbpsKey(), 0.001, 100_000),
                changed(payload, config.latencyMsKey(), 0, 60_000),
                changed(payload, config.jitterMsKey(), 0, 60_000),
                changed(payload, config.lossPercentKey(), 0, 100)));
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
        if (!payload.has(key)) {
            return fallback;
        }
        Object raw = payload.values().get(key);
        Optional<Double> number = Optional.empty();
        if (raw instanceof Number n) {
            number = Optional.of(n.doubleValue());
        } else if (raw instanceof String text) {
            try {
                number = Optional.of(Double.parseDouble(text.strip()));
            } catch (NumberFormatException ignored) {
                // Reported below.
            }
        }
        if (number.isEmpty() || !Double.isFinite(number.get()) || number.get() < min || number.get() > max) {
            throw new InvalidValue("payload key '" + key + "' must be a number from " + format(min) + " to " + format(max)
                    + ", got " + (raw instanceof String ? "'" + raw + "'" : String.valueOf(raw)));
        }
        return number.get();
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
