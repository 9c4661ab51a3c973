package ccc.core;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.MetricFamily;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test adapter that runs a real {@code sleep} (or a given command) and can be told to be slow,
 * to hang or to throw in any hook.
 */
class SleepAdapter implements Adapter {

    final String marker = Processes.uniqueSleepArgument();
    volatile List<String> command = List.of("sleep", marker);
    volatile Duration startDelay = Duration.ZERO;
    volatile boolean hangInStart;
    volatile boolean hangInStop;
    volatile RuntimeException preStartFailure;
    volatile RuntimeException postStopFailure;
    volatile UpdateResult updateResult = UpdateResult.NOT_SUPPORTED;
    volatile RuntimeException updateFailure;
    volatile List<MetricFamily> families = List.of();
    final AtomicInteger familiesAsked = new AtomicInteger();
    final AtomicInteger starts = new AtomicInteger();
    final AtomicInteger exits = new AtomicInteger();
    volatile ccc.api.WorkloadExit lastExit;
    volatile Payload lastStartPayload;
    private volatile Process process;

    @Override
    public Workload start(Payload payload, AdapterContext context) throws Exception {
        if (hangInStart) {
            Thread.sleep(Duration.ofHours(1));
        }
        Thread.sleep(startDelay);
        starts.incrementAndGet();
        lastStartPayload = payload;
        process = new ProcessBuilder(context.ensureUser(command)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return Workload.of(process);
    }

    @Override
    public void stop() throws Exception {
        if (hangInStop) {
            Thread.sleep(Duration.ofHours(1));
        }
        Process current = process;
        if (current != null && current.isAlive()) {
            current.destroy();
            if (!current.waitFor(5, TimeUnit.SECONDS)) {
                current.destroyForcibly().waitFor();
            }
        }
    }

    @Override
    public UpdateResult update(Payload payload) {
        if (updateFailure != null) {
            throw updateFailure;
        }
        return updateResult;
    }

    @Override
    public void preStart(Payload payload, AdapterContext context) {
        if (preStartFailure != null) {
            throw preStartFailure;
        }
    }

    @Override
    public void postStop(AdapterContext context) {
        if (postStopFailure != null) {
            throw postStopFailure;
        }
    }

    @Override
    public void onWorkloadExit(ccc.api.WorkloadExit exit) {
        lastExit = exit;
        exits.incrementAndGet();
    }

    @Override
    public Map<String, Object> metrics() {
        return Map.of("starts", starts.get());
    }

    @Override
    public List<MetricFamily> prometheusMetrics() {
        familiesAsked.incrementAndGet();
        return families;
    }
}
