package ccc.core.process;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.MetricFamily;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.api.Workload;
import ccc.api.WorkloadExit;
import ccc.core.config.CoreConfig;
import ccc.core.config.PayloadTemplate;
import ccc.core.json.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The built-in adapter for {@code process_management}: runs the configured command with
 * placeholders filled from the start payload, optionally writes the payload to a file and
 * signals the workload on update, so that a program configured by file and SIGHUP runs under
 * the core with no adapter code. A configured adapter, if any, still provides the hooks and
 * metrics.
 */
public final class ProcessAdapter implements Adapter {

    private final CoreConfig.ProcessManagement config;
    private final ProcessLauncher launcher;
    private final Optional<Adapter> hooks;
    private ManagedProcess process;
    private Map<String, Object> startPayload = Map.of();

    public ProcessAdapter(CoreConfig.ProcessManagement config, ProcessLauncher launcher, Optional<Adapter> hooks) {
        this.config = config;
        this.launcher = launcher;
        this.hooks = hooks;
    }

    /**
     * Checks that {@code payload} fills every placeholder, before anything starts.
     *
     * @throws PayloadTemplate.MissingValueException naming the key that does not
     */
    public void validate(Payload payload) throws PayloadTemplate.MissingValueException {
        for (PayloadTemplate argument : config.command()) {
            argument.fill(payload);
        }
        for (PayloadTemplate value : config.environment().values()) {
            value.fill(payload);
        }
    }

    @Override
    public Workload start(Payload payload, AdapterContext context) throws Exception {
        var command = new ArrayList<String>(config.command().size());
        for (PayloadTemplate argument : config.command()) {
            command.add(argument.fill(payload));
        }
        var launch = Launch.of(command);
        for (var variable : config.environment().entrySet()) {
            launch = launch.withEnvironment(variable.getKey(), variable.getValue().fill(payload));
        }
        if (config.workingDirectory().isPresent()) {
            launch = launch.in(config.workingDirectory().get());
        }
        startPayload = payload.values();
        if (config.payloadFile().isPresent()) {
            writePayloadFile(config.payloadFile().get(), startPayload);
        }
        process = launcher.launch(launch);
        return process;
    }

    @Override
    public void stop() {
        ManagedProcess current = process;
        if (current != null && current.isAlive()) {
            int signal = Signals.number(config.stopSignal()).orElse(Signals.TERM);
            ProcessTree.terminate(current.processId(), signal, config.stopTimeout(), current.ownProcessGroup());
        }
    }

    @Override
    public UpdateResult update(Payload payload) throws Exception {
        if (config.update().isEmpty()) {
            return hooks.isPresent() ? hooks.get().update(payload) : UpdateResult.NOT_SUPPORTED;
        }
        var update = config.update().get();
        if (update.rewritePayloadFile()) {
            var merged = new LinkedHashMap<>(startPayload);
            merged.putAll(payload.values());
            writePayloadFile(config.payloadFile().orElseThrow(), merged);
        }
        ManagedProcess current = process;
        if (current == null || !current.signal(update.signal())) {
            throw new IllegalStateException("the workload ended before the update signal reached it");
        }
        return UpdateResult.APPLIED;
    }

    /**
     * Writes the payload as JSON, readable only by the workload's user, replacing the file
     * atomically. The workload may own directories on the way, so nothing is followed.
     */
    private void writePayloadFile(Path file, Map<String, Object> payload) throws IOException {
        try {
            NoFollowFiles.write(file, Json.write(payload), launcher.privilegeDrop().account(launcher.effectiveUser()));
        } catch (IOException e) {
            throw new IOException("payload_file: " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, Object> metrics() {
        return hooks.map(Adapter::metrics).orElse(Map.of());
    }

    @Override
    public List<MetricFamily> prometheusMetrics() {
        return hooks.map(Adapter::prometheusMetrics).orElse(List.of());
    }

    @Override
    public void preStart(Payload payload, AdapterContext context) throws Exception {
        if (hooks.isPresent()) {
            hooks.get().preStart(payload, context);
        }
    }

    @Override
    public void postStop(AdapterContext context) throws Exception {
        if (hooks.isPresent()) {
            hooks.get().postStop(context);
        }
    }

    @Override
    public Payload beforeTrafficControl(Payload payload) {
        return hooks.map(adapter -> adapter.beforeTrafficControl(payload)).orElse(payload);
    }

    @Override
    public void onWorkloadExit(WorkloadExit exit) {
        hooks.ifPresent(adapter -> adapter.onWorkloadExit(exit));
    }
}
