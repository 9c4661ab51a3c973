package ccc.core.process;

import ccc.api.Launch;
import ccc.core.log.Log;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The one way the core starts a workload, for its own process management and for adapters:
 * through the {@code ccc-exec} helper in a session of its own, as the workload's user when the
 * core is root, with stdout and stderr read continuously.
 */
public final class ProcessLauncher {

    private static final Log LOG = Log.named("launcher");

    private final PrivilegeDrop privilegeDrop;
    private final Optional<String> runAsUser;
    private final WorkloadOutput output;
    private final java.util.concurrent.Future<?> ready;

    /** A launcher that launches once {@code ready} (the reaper's set-up) is done. */
    public ProcessLauncher(PrivilegeDrop privilegeDrop, Optional<String> runAsUser, WorkloadOutput output, java.util.concurrent.Future<?> ready) {
        this.privilegeDrop = privilegeDrop;
        this.runAsUser = runAsUser;
        this.output = output;
        this.ready = ready;
    }

    public WorkloadOutput output() {
        return output;
    }

    public PrivilegeDrop privilegeDrop() {
        return privilegeDrop;
    }

    /** The user the workload runs as, when privileges are dropped. */
    public Optional<String> effectiveUser() {
        return privilegeDrop.runningAsRoot() ? runAsUser : Optional.empty();
    }

    /** Starts {@code launch}; see the class description. */
    public ManagedProcess launch(Launch launch) throws IOException {
        try {
            ready.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted before launch", e);
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.warn("reaper set-up failed", "reason", e.getCause().toString());
        }
        List<String> command = privilegeDrop.launchCommand(launch.command(), runAsUser);
        var builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(launch.environment());
        launch.workingDirectory().ifPresent(dir -> builder.directory(dir.toFile()));
        Process process = builder.start();
        Thread stdout = output.pump(process.getInputStream(), WorkloadOutput.Stream.STDOUT, process.pid());
        Thread stderr = output.pump(process.getErrorStream(), WorkloadOutput.Stream.STDERR, process.pid());
        LOG.info("workload launched", "pid", process.pid(), "command", output.redactor().redact(String.join(" ", launch.command())),
                "user", effectiveUser().orElse("(core's own)"));
        return new ManagedProcess(process, privilegeDrop.helper().isPresent(), stdout, stderr);
    }
}
