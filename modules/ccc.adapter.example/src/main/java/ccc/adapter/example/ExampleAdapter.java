package ccc.adapter.example;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadProcess;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** The seed's {@code my_adapter.py} in Java: runs the {@link FlowRunner} on the flows the payload names. */
public final class ExampleAdapter implements Adapter {

    private WorkloadProcess process;
    private Path stats;

    @Override
    public void preStart(Payload payload, AdapterContext context) {
        // Privileged setup, as the seed's example does with tc: here through the core's own service.
        payload.string("bandwidth_mbps").ifPresent(mbps -> context.trafficControl().shape(TrafficShape.bandwidth(Double.parseDouble(mbps))));
    }

    @Override
    public Workload start(Payload payload, AdapterContext context) throws IOException {
        stats = Path.of(System.getProperty("java.io.tmpdir"), "flow-stats-" + UUID.randomUUID() + ".properties");
        process = context.launch(Launch.of(JavaCommand.of(FlowRunner.class, "--flows", payload.require("flowfile"), "--stats", stats.toString())));
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
        var figures = new Properties();
        try (Reader in = Files.newBufferedReader(stats)) {
            figures.load(in);
        } catch (IOException | RuntimeException e) {
            return Map.of("running", process != null && process.isAlive());
        }
        return Map.of("running", process.isAlive(), "requests_sent", Long.parseLong(figures.getProperty("sent", "0")),
                "errors", Long.parseLong(figures.getProperty("errors", "0")), "rate", Double.parseDouble(figures.getProperty("rate", "0")));
    }
}
