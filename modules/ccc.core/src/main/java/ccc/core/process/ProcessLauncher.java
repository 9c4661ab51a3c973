package ccc.core.process;

import ccc.api.Launch;
import ccc.core.log.Log;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one way the core starts a workload, for its own process management and for adapters:
 * through the {@code ccc-exec} helper in a session of its own, killed by the kernel should the
 * core die, as the workload's user when the core is root, with an environment built rather than
 * inherited ({@link WorkloadEnvironment}), and with stdout and stderr read continuously. The
 * helper is started with {@code posix_spawn(3)} ({@link PosixSpawn}) where the C library allows,
 * else, like a command when the helper is missing, with {@link ProcessBuilder}.
 */
public final class ProcessLauncher {

    /**
     * The thread every workload is forked from. The kernel sends the parent-death signal when
     * the thread that forked a process ends, not the process, and the JDK forks from the calling
     * thread: virtual threads' carriers and adapter-call threads, which come and go. One platform
     * thread that lives as long as the core keeps workloads alive until the core itself ends.
     */
    private static final class Forker {
        static final ExecutorService THREAD = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("ccc-launcher").daemon().factory());
    }

    private final PrivilegeDrop privilegeDrop;
    private final Optional<String> runAsUser;
    private final WorkloadEnvironment environment;
    private final WorkloadOutput output;
    private final Log log;
    private final Future<?> ready;
    private Optional<Path> workloadDirectory = Optional.empty();

    /**
     * A launcher that launches once {@code ready} (the reaper's set-up) is done; workloads get the
     * core's variables that {@code envPassthrough} names, beside the base of {@link WorkloadEnvironment}.
     */
    public ProcessLauncher(PrivilegeDrop privilegeDrop, Optional<String> runAsUser, List<String> envPassthrough,
                           WorkloadOutput output, Future<?> ready) {
        this.privilegeDrop = privilegeDrop;
        this.runAsUser = runAsUser;
        this.environment = new WorkloadEnvironment(System.getenv(), envPassthrough);
        this.output = output;
        this.log = Log.named("launcher", output.redactor());
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

    /**
     * A directory only the workload's user and root can reach, created on first use under the
     * temporary directory, owned by that user, mode 0700; see {@code AdapterContext.workloadDirectory}.
     */
    public synchronized Path workloadDirectory() throws IOException {
        if (workloadDirectory.isEmpty()) {
            Path directory = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath()
                    .resolve("ccc-workload-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()));
            NoFollowFiles.createPrivateDirectory(directory, privilegeDrop.account(effectiveUser()));
            workloadDirectory = Optional.of(directory);
        }
        return workloadDirectory.get();
    }

    /**
     * Removes the workload directory, if one was made, once no workload runs any more (at
     * shutdown), without following a link the workload left in it.
     */
    public synchronized void removeWorkloadDirectory() {
        workloadDirectory.ifPresent(directory -> {
            try {
                NoFollowFiles.removeTree(directory);
            } catch (IOException e) {
                log.warn("workload directory left behind", "path", directory, "reason", e.getMessage());
            }
        });
        workloadDirectory = Optional.empty();
    }

    /** Starts {@code launch}; see the class description. */
    public ManagedProcess launch(Launch launch) throws IOException {
        try {
            ready.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted before launch", e);
        } catch (ExecutionException e) {
            log.warn("reaper set-up failed", "reason", e.getCause().toString());
        }
        Map<String, String> variables = environment.build(privilegeDrop.workloadAccount(runAsUser), launch.environment());
        List<String> command = privilegeDrop.launchCommand(launch.command(), runAsUser, launch.workingDirectory());
        Process process = startOnTheForker(starter(command, variables, launch.workingDirectory()));
        Reaper.childStarted();
        var stdout = output.pump(process.getInputStream(), WorkloadOutput.Stream.STDOUT, process.pid());
        var stderr = output.pump(process.getErrorStream(), WorkloadOutput.Stream.STDERR, process.pid());
        log.info("workload launched", "pid", process.pid(), "command", String.join(" ", launch.command()),
                "user", effectiveUser().orElse("(core's own)"));
        return new ManagedProcess(process, privilegeDrop.helper().isPresent(), stdout, stderr);
    }

    /**
     * How {@code command} is started: the helper, named by its absolute path, with
     * {@code posix_spawn(3)} where it can be (one exec, where {@link ProcessBuilder} adds the
     * JDK's own spawn helper's); anything else with {@link ProcessBuilder}. The helper enters the
     * working directory itself, as the workload's user; without it the launcher sets it.
     */
    private Callable<Process> starter(List<String> command, Map<String, String> variables, Optional<Path> workingDirectory) {
        if (privilegeDrop.helper().filter(Path::isAbsolute).isPresent() && PosixSpawn.available()) {
            return () -> PosixSpawn.start(command, variables);
        }
        var builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().clear();
        builder.environment().putAll(variables);
        if (privilegeDrop.helper().isEmpty()) {
            // No helper, so no user switch either: the workload is the core's user and may enter what the core enters.
            workingDirectory.ifPresent(dir -> builder.directory(dir.toFile()));
        }
        return builder::start;
    }

    /**
     * Links the calls that start a workload with {@code posix_spawn(3)}, so that the first start
     * does not pay for it. Called off the start-up path.
     */
    public static void linkSystemCalls() {
        PosixSpawn.link();
    }

    private static Process startOnTheForker(Callable<Process> start) throws IOException {
        Future<Process> started = Forker.THREAD.submit(start);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    Process process = started.get();
                    if (interrupted) {
                        // The caller gave up while the fork ran: end what it started rather than leave it unsupervised.
                        process.destroyForcibly();
                        throw new IOException("interrupted during launch");
                    }
                    return process;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException failure) {
                throw failure;
            }
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw new IOException(e.getCause());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
