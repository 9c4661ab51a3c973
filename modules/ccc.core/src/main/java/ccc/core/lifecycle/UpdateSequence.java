package ccc.core.lifecycle;

import ccc.api.Adapter;
import ccc.api.UpdateResult;
import ccc.core.config.CoreConfig;
import ccc.core.log.Log;
import ccc.core.process.ProcessAdapter;
import ccc.core.traffic.Shaper;
import java.util.Optional;

/**
 * A live update: the traffic shape it changes, then the rest for the process adapter (when
 * {@code process_management.update} is configured) or the adapter.
 */
final class UpdateSequence {

    private final Log log;

    private final Adapter adapter;
    private final Optional<ProcessAdapter> processAdapter;
    private final Shaper shaper;
    private final CoreConfig.LifecycleTimeouts timeouts;

    UpdateSequence(Adapter adapter, Optional<ProcessAdapter> processAdapter, Shaper shaper, CoreConfig.LifecycleTimeouts timeouts, Log log) {
        this.adapter = adapter;
        this.processAdapter = processAdapter;
        this.shaper = shaper;
        this.timeouts = timeouts;
        this.log = log;
    }

    UpdateOutcome run(UpdatePlan plan) {
        if (plan.shaping().isPresent()) {
            try {
                shaper.shape(plan.shaping().get().applyTo(shaper.applied()));
            } catch (IllegalStateException e) {
                return new UpdateOutcome.Failed("traffic control: " + e.getMessage());
            }
            if (plan.shapingOnly()) {
                log.info("update handled", "result", "traffic shaping changed");
                return new UpdateOutcome.Answered(UpdateResult.APPLIED);
            }
        }
        try {
            UpdateResult result = AdapterCalls.call("update", timeouts.updateTimeout(), () -> processAdapter.isPresent() && processAdapter.get().updatesLive()
                    ? processAdapter.get().update(plan.payload()) : adapter.update(plan.payload()), ignored -> { });
            if (result == null) {
                return new UpdateOutcome.Failed("adapter update returned no result");
            }
            log.info("update handled", "result", result);
            return new UpdateOutcome.Answered(result);
        } catch (AdapterCallException e) {
            if (e.getCause() instanceof UnsupportedOperationException) {
                // What a line-by-line port of Python's NotImplementedError throws: the adapter has no live update.
                log.info("update handled", "result", UpdateResult.NOT_SUPPORTED, "reason", e.getMessage());
                return new UpdateOutcome.Answered(UpdateResult.NOT_SUPPORTED);
            }
            log.error("update failed", "reason", e.getMessage());
            return new UpdateOutcome.Failed(e.getMessage());
        }
    }
}
