package ccc.adapter.example;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadProcess;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** The seed's {@code my_adapter.py} in Java: runs the {@link FlowRunner} on the flows the payload names. */
public final class ExampleAdapter implements Adapter {

    /** The most of the workload's stats file the adapter reads: it is the workload's to write. */
    static final int MAX_STATS_BYTES = 64 * 1024;

    // Written by start on the lifecycle's thread, read by metrics on others: volatile publishes them.
    private volatile WorkloadProcess process;
    private volatile Callable<byte[]> stats = () -> new byte[0];

    @Override
    public void preStart(Payload payload, AdapterContext context) {
        // Privileged setup, as the seed's example does with tc: here through the core's own service.
        payload.string("bandwidth_mbps").ifPresent(mbps -> context.trafficControl().shape(TrafficShape.bandwidth(Double.parseDouble(mbps))));
    }

    @Override
    public Workload start(Payload payload, AdapterContext context) throws IOException {
        // In a directory only the workload's user and root can reach, a fresh file for each run.
        Path file = context.workloadDirectory().resolve("flow-stats-" + UUID.randomUUID() + ".properties");
        stats = () -> context.readWorkloadFile(file, MAX_STATS_BYTES);
        process = context.launch(Launch.of(JavaCommand.of(FlowRunner.class, "--flows", payload.require("flowfile"), "--stats", file.toString())));
        return process;
    }

    @Override
    public void stop() throws Exception {
        // Idempotent; should the runner not end in time, the core ends its whole process tree.
        if (process != null && process.signal("TERM")) {
            process.exit().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public UpdateResult update(Payload payload) {
        // As the seed: SIGUSR1 switches the workload's log level; a payload without log_level is declined.
        boolean applied = payload.has("log_level") && process != null && process.signal("USR1");
        return applied ? UpdateResult.APPLIED : UpdateResult.DECLINED;
    }

    @Override
    public Map<String, Object> metrics() {
        boolean running = process != null && process.isAlive();
        var figures = new Properties();
        // The workload writes this file, so the adapter (root, maybe) reads it as untrusted, as the core reads such files:
        // only a regular file (a link could lead to root's files, a FIFO would block), and only so much of it.
        try {
            figures.load(new ByteArrayInputStream(stats.call()));
        } catch (IOException e) {
            // Not written yet, or not a regular file: no figures, as from a runner that has sent nothing.
        } catch (Exception e) {
            return Map.of("running", running);
        }
        return Map.of("running", running, "requests_sent", Long.parseLong(figures.getProperty("sent", "0")),
                "errors", Long.parseLong(figures.getProperty("errors", "0")), "rate", Double.parseDouble(figures.getProperty("rate", "0")));
    }
}
