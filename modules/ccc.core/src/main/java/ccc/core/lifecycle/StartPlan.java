package ccc.core.lifecycle;

import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import java.util.Objects;
import java.util.Optional;

/**
 * A start request as the lifecycle runs it, validated once where it arrived ({@link Planner}).
 *
 * @param payload the start payload, handed to the adapter's hooks and start
 * @param launch the command filled from the payload, when the core runs the workload itself ({@code process_management})
 * @param shaping the traffic shape the payload asks for, when traffic control is enabled
 */
public record StartPlan(Payload payload, Optional<Launch> launch, Optional<TrafficShape> shaping) {

    public StartPlan {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(launch, "launch");
        Objects.requireNonNull(shaping, "shaping");
    }
}
