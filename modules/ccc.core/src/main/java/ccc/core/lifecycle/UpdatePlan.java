package ccc.core.lifecycle;

import ccc.api.Payload;
import ccc.core.traffic.ShapeChange;
import java.util.Objects;
import java.util.Optional;

/**
 * An update request as the lifecycle runs it, validated once where it arrived ({@link Planner}).
 *
 * @param payload what the adapter (or the process adapter) receives: the request without its shaping keys
 * @param shaping the shaping keys it changes, when it carries any and traffic control is enabled
 */
public record UpdatePlan(Payload payload, Optional<ShapeChange> shaping) {

    public UpdatePlan {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(shaping, "shaping");
    }

    /** Whether the request was about traffic shaping alone, so no adapter need be asked. */
    boolean shapingOnly() {
        return shaping.isPresent() && payload.values().isEmpty();
    }
}
