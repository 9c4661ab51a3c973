package ccc.adapter.example;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.Workload;
import ccc.api.WorkloadProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs the {@link FlowRunner} with the flows file the start payload names, as {@code run_as_user}. */
public final class ExampleAdapter implements Adapter {

    private WorkloadProcess process;

    @Override
    public Workload start(Payload payload, AdapterContext context) throws Exception {
        process = context.launch(Launch.of(Java.command(FlowRunner.class, "--flows", payload.require("flowfile"))));
        return process;
    }

    @Override
    public void stop() throws Exception {
        if (process != null && process.signal("TERM")) {
            try {
                process.exit().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                process.signal("KILL");
            }
        }
    }

    @Override
    public Map<String, Object> metrics() {
        WorkloadProcess current = process;
        return Map.of("running", current != null && current.isAlive());
    }

    /** How to start a main class of this module with the Java that runs the core. */
    static final class Java {
        private Java() {
        }

        static List<String> command(Class<?> mainClass, String... args) {
            var command = new ArrayList<String>();
            command.add(ProcessHandle.current().info().command().orElse("java"));
            String modulePath = System.getProperty("jdk.module.path");
            if (modulePath != null) {
                command.addAll(List.of("--module-path", modulePath));
            }
            command.addAll(List.of("-Xmx32m", "-Xss256k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
            command.addAll(List.of("-m", mainClass.getModule().getName() + "/" + mainClass.getName()));
            command.addAll(List.of(args));
            return command;
        }
    }
}
