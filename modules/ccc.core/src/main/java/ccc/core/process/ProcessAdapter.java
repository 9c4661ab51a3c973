package ccc.core.process;

import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.core.config.CoreConfig;
import ccc.core.config.PayloadTemplate;
import ccc.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The built-in process adapter of {@code process_management}: runs the configured command with
 * placeholders filled from the start payload, optionally writes the payload to a file and
 * signals the workload on update, so that a program configured by file and SIGHUP runs under
 * the core with no adapter code. A configured adapter, if any, still provides the hooks and
 * metrics; ending the workload's tree is the stop sequence's, with {@link #stopSignal()} within
 * {@link #stopGrace()}.
 */
public final class ProcessAdapter {

    private final CoreConfig.ProcessManagement config;
    private final ProcessLauncher launcher;
    // Written and read on the lifecycle's thread only: starts and updates are its transitions.
    private ManagedProcess process;
    private Map<String, Object> startPayload = Map.of();

    public ProcessAdapter(CoreConfig.ProcessManagement config, ProcessLauncher launcher) {
        this.config = config;
        this.launcher = launcher;
    }

    /**
     * The command a start payload asks for, with every placeholder filled: checked before
     * anything starts, and then run as it is.
     *
     * @throws PayloadTemplate.MissingValueException naming the key the payload cannot fill
     */
    public Launch launchFor(Payload payload) throws PayloadTemplate.MissingValueException {
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
        return launch;
    }

    /** Writes the payload file, when one is configured, and starts {@code launch}. */
    public ManagedProcess start(Launch launch, Payload payload) throws IOException {
        startPayload = payload.values();
        if (config.payloadFile().isPresent()) {
            writePayloadFile(config.payloadFile().get(), startPayload);
        }
        process = launcher.launch(launch);
        return process;
    }

    /** Whether {@code process_management.update} is configured, so that the core applies updates itself. */
    public boolean updatesLive() {
        return config.update().isPresent();
    }

    /**
     * Applies an update: rewrites the payload file with the update's keys merged in, when
     * configured, and sends the update signal.
     *
     * @throws IllegalStateException when no update is configured, or the workload ended before the signal reached it
     */
    public UpdateResult update(Payload payload) throws IOException {
        var update = config.update().orElseThrow(() -> new IllegalStateException("process_management.update is not configured"));
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

    /** The signal that asks the workload to stop ({@code process_management.stop_signal}). */
    public int stopSignal() {
        return Signals.number(config.stopSignal()).orElse(Signals.TERM);
    }

    /** How long the workload's tree has from the stop signal until SIGKILL ({@code process_management.stop_timeout_seconds}). */
    public Duration stopGrace() {
        return config.stopTimeout();
    }

    /** Writes the payload as JSON, readable only by the workload's user, replacing the file atomically. */
    private void writePayloadFile(Path file, Map<String, Object> payload) throws IOException {
        Path directory = file.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        Path temporary = Files.createTempFile(directory, ".payload", ".json",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.write(temporary, Json.write(payload));
            var account = launcher.privilegeDrop().account(launcher.effectiveUser());
            if (account.isPresent()) {
                Files.setAttribute(temporary, "unix:uid", account.get().uid());
                Files.setAttribute(temporary, "unix:gid", account.get().gid());
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
