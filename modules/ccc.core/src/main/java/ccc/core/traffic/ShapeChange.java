package ccc.core.traffic;

import ccc.api.TrafficShape;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The shaping values an update asks to change, each already checked; the others keep whatever
 * is in force when the update runs.
 */
public record ShapeChange(OptionalDouble bandwidthMbps, OptionalDouble latencyMs, OptionalDouble jitterMs, OptionalDouble lossPercent) {

    /** The shape after this change, from {@code current} (empty when nothing is shaped). */
    public TrafficShape applyTo(Optional<TrafficShape> current) {
        return new TrafficShape(
                bandwidthMbps.orElse(current.map(TrafficShape::bandwidthMbps).orElse(0.0)),
                latencyMs.orElse(current.map(TrafficShape::latencyMs).orElse(0.0)),
                jitterMs.orElse(current.map(TrafficShape::jitterMs).orElse(0.0)),
                lossPercent.orElse(current.map(TrafficShape::lossPercent).orElse(0.0)));
    }
}
