package ccc.core.process;

import ccc.core.os.Signals;
import ccc.api.Launch;
import ccc.api.Payload;
import ccc.api.UpdateResult;
import ccc.core.config.CoreConfig;
import ccc.core.config.PayloadTemplate;
import ccc.core.json.Json;
import java.io.IOException;
import java.nio.file.Path;
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

    /**
     * The kernel's limit on one argument or environment string, its terminating NUL included
     * ({@code MAX_ARG_STRLEN}: 32 pages of 4 KiB). A longer one makes {@code exec} fail.
     */
    public static final int MAX_ARGUMENT_BYTES = 128 * 1024;

    /**
     * The bound on the filled command and {@code env} together, well below the kernel's
     * {@code ARG_MAX} (a quarter of the stack limit: 2 MiB by default), which the base
     * environment and the helper's options share.
     */
    public static final int MAX_COMMAND_BYTES = 1024 * 1024;

    private final CoreConfig.ProcessManagementSection config;
    private final ProcessLauncher launcher;
    // Written and read on the lifecycle's thread only: starts and updates are its transitions.
    private ManagedProcess process;
    private Map<String, Object> startPayload = Map.of();

    public ProcessAdapter(CoreConfig.ProcessManagementSection config, ProcessLauncher launcher) {
        this.config = config;
        this.launcher = launcher;
    }

    /**
     * The command a start payload asks for, with every placeholder filled and within the
     * kernel's limits: checked before anything starts (or stops), and then run as it is.
     *
     * @throws PayloadTemplate.MissingValueException naming the key the payload cannot fill
     * @throws ArgumentTooLongException naming the key whose value is too long
     */
    public Launch launchFor(Payload payload) throws PayloadTemplate.MissingValueException, ArgumentTooLongException {
        var command = new ArrayList<String>(config.command().size());
        long total = 0;
        for (int i = 0; i < config.command().size(); i++) {
            PayloadTemplate argument = config.command().get(i);
            String filled = argument.fill(payload);
            total += bytes(filled, argument, "process_management.command[" + i + "]");
            command.add(filled);
        }
        var launch = Launch.of(command);
        for (var variable : new java.util.TreeMap<>(config.environment()).entrySet()) {
            String filled = variable.getValue().fill(payload);
            total += bytes(variable.getKey() + "=" + filled, variable.getValue(), "process_management.env." + variable.getKey());
            launch = launch.withEnvironment(variable.getKey(), filled);
        }
        if (total > MAX_COMMAND_BYTES) {
            throw new ArgumentTooLongException("the filled process_management.command and env take " + total
                    + " bytes together; at most " + MAX_COMMAND_BYTES + " are allowed");
        }
        if (config.workingDirectory().isPresent()) {
            launch = launch.in(config.workingDirectory().get());
        }
        return launch;
    }

    /** The bytes {@code exec} needs for {@code text}, NUL included; fails naming the payload keys when over the kernel's limit. */
    private static long bytes(String text, PayloadTemplate template, String path) throws ArgumentTooLongException {
        long length = text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1L;
        if (length > MAX_ARGUMENT_BYTES) {
            String keys = template.keys().isEmpty() ? "the configured value"
                    : "payload key" + (template.keys().size() > 1 ? "s '" : " '") + String.join("', '", template.keys()) + "'";
            throw new ArgumentTooLongException(keys + " makes " + path + " " + (length - 1) + " bytes long; one argument or variable"
                    + " may be at most " + (MAX_ARGUMENT_BYTES - 1) + " bytes (the kernel's MAX_ARG_STRLEN)");
        }
        return length;
    }

    /** A filled argument or variable, or all of them together, too long for {@code exec}; the message names the key. */
    public static final class ArgumentTooLongException extends Exception {
        private static final long serialVersionUID = 1L;

        ArgumentTooLongException(String message) {
            super(message, null, false, false);
        }
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
}
