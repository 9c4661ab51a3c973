package ccc.core.lifecycle;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;

/**
 * The adapter of a core that runs its workload from {@code process_management} with no adapter:
 * it has no hooks, so the lifecycle calls none (a call would cost a thread and its wake-ups on
 * every start and stop, for nothing).
 */
public final class NoAdapter implements Adapter {

    @Override
    public Workload start(Payload payload, AdapterContext context) {
        throw new IllegalStateException("process_management runs the workload; there is no adapter to start it");
    }

    @Override
    public void stop() {
    }
}
