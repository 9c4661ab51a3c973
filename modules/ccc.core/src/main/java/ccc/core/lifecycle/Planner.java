package ccc.core.lifecycle;

import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.core.config.PayloadTemplate;
import ccc.core.process.ProcessAdapter;
import ccc.core.traffic.ShapeChange;
import ccc.core.traffic.TrafficPlan;
import java.util.Optional;

/**
 * Turns start and update requests into the plans the lifecycle runs, checking them once, where
 * they arrive, so that a request the core cannot run is refused before anything is queued or
 * stopped.
 */
public final class Planner {

    private final Optional<String> primaryPayloadKey;
    private final Optional<ProcessAdapter> processAdapter;
    private final Optional<TrafficPlan> trafficPlan;

    /**
     * @param primaryPayloadKey the key every start payload must hold ({@code adapter.primary_payload_key})
     * @param processAdapter the built-in process adapter, when the core runs the workload itself
     * @param trafficPlan how payloads ask for traffic shaping, when {@code traffic_control} is enabled
     */
    public Planner(Optional<String> primaryPayloadKey, Optional<ProcessAdapter> processAdapter, Optional<TrafficPlan> trafficPlan) {
        this.primaryPayloadKey = primaryPayloadKey;
        this.processAdapter = processAdapter;
        this.trafficPlan = trafficPlan;
    }

    /** A request the core refuses; the message says why (answered as a 400). */
    public static final class InvalidRequest extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidRequest(String message) {
            super(message, null, false, false);
        }
    }

    /** The plan for {@code /api/start} with {@code payload}. */
    public StartPlan start(Payload payload) throws InvalidRequest {
        if (primaryPayloadKey.isPresent() && !payload.has(primaryPayloadKey.get())) {
            throw new InvalidRequest("Missing primary payload key '" + primaryPayloadKey.get() + "'");
        }
        Optional<Launch> launch = Optional.empty();
        if (processAdapter.isPresent()) {
            try {
                launch = Optional.of(processAdapter.get().launchFor(payload));
            } catch (PayloadTemplate.MissingValueException | ProcessAdapter.ArgumentTooLongException e) {
                throw new InvalidRequest(e.getMessage());
            }
        }
        Optional<TrafficShape> shaping = Optional.empty();
        if (trafficPlan.isPresent()) {
            try {
                shaping = Optional.of(trafficPlan.get().forStart(payload));
            } catch (TrafficPlan.InvalidValue e) {
                throw new InvalidRequest(e.getMessage());
            }
        }
        return new StartPlan(payload, launch, shaping);
    }

    /** The plan for {@code /api/update} with {@code payload}. */
    public UpdatePlan update(Payload payload) throws InvalidRequest {
        if (trafficPlan.isEmpty()) {
            return new UpdatePlan(payload, Optional.empty());
        }
        Optional<ShapeChange> change;
        try {
            change = trafficPlan.get().changeFor(payload);
        } catch (TrafficPlan.InvalidValue e) {
            throw new InvalidRequest(e.getMessage());
        }
        return new UpdatePlan(change.isPresent() ? trafficPlan.get().withoutShaping(payload) : payload, change);
    }
}
