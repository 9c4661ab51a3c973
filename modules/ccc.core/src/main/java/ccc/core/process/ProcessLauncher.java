package ccc.core.process;

import ccc.api.Launch;
import ccc.core.log.FatalErrors;
import ccc.core.log.Log;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The one way the core starts a workload, for its own process management and for adapters:
 * through the {@code ccc-exec} helper in a session of its own, killed by the kernel should the
 * core die, as the workload's user when the core is root, with an environment built rather than
 * inherited ({@link WorkloadEnvironment}), and with stdout and stderr read continuously. Where
 * the C library allows, the helper is started with {@code posix_spawn(3)} ({@link PosixSpawn})
 * ahead of the launch that uses it ({@link ReadyHelper}): up to {@link #HELPERS_AHEAD} wait for
 * their command, so a launch hands its command over instead of spawning.
 * Elsewhere, like a command when the helper is missing, it is started with {@link ProcessBuilder}.
 */
public final class ProcessLauncher {

    /**
     * How many helpers wait for a launch: enough for a start, the restart right after it and the
     * next start after a stop to find one each without a spawn.
     */
    public static final int HELPERS_AHEAD = 3;
    /**
     * How long the core must have been quiet (no launch, no change of the lifecycle's phase,
     * {@link #noteActivity()}, and no request answered, {@link #countAnswersOf}) before the helpers
     * used are replaced. A spawn takes a CPU for one to three milliseconds, which the transitions
     * of a burst (a start, a restart, a stop), their answers and the requests between them need
     * more; only a launch that leaves none waiting has one started at once.
     */
    static final Duration REFILL_WHEN_QUIET_FOR = Duration.ofMillis(3);

    /**
     * The thread every workload is forked from. The kernel sends the parent-death signal when
     * the thread that forked a process ends, not the process, and the JDK forks from the calling
     * thread: virtual threads' carriers and adapter-call threads, which come and go. One platform
     * thread that lives as long as the core keeps workloads alive until the core itself ends.
     */
    private static final class Forker {
        static final ScheduledExecutorService THREAD = Executors.newSingleThreadScheduledExecutor(task ->
                Thread.ofPlatform().name("ccc-launcher").daemon().unstarted(() -> {
                    LauncherChildren.launcherThreadStarted();
                    task.run();
                }));
    }

    private final PrivilegeDrop privilegeDrop;
    private final Optional<String> runAsUser;
    private final WorkloadEnvironment environment;
    private final WorkloadOutput output;
    private final Log log;
    private final Future<?> ready;
    private Optional<Path> workloadDirectory = Optional.empty();
    private final int helpersAhead;
    private final long refillWhenQuietNanos;
    private final HelperStart helperStart;
    // The helpers started ahead (see ReadyHelper), oldest first, each by the launcher's thread; guarded by this.
    private final Deque<CompletableFuture<ReadyHelper>> ahead = new ArrayDeque<>();
    // The System.nanoTime() of the latest launch or other activity (noteActivity).
    private volatile long lastActivity;
    // The System.nanoTime() of the API's latest answer, once the API is known (countAnswersOf).
    private volatile LongSupplier lastAnswer = () -> lastActivity;
    // The refill waiting for a quiet moment; guarded by this.
    private Future<?> refill;
    private boolean closed;

    /**
     * A launcher that launches once {@code ready} (the reaper's set-up) is done; workloads get the
     * core's variables that {@code envPassthrough} names, beside the base of {@link WorkloadEnvironment}.
     */
    public ProcessLauncher(PrivilegeDrop privilegeDrop, Optional<String> runAsUser, List<String> envPassthrough,
                           WorkloadOutput output, Future<?> ready) {
        this(privilegeDrop, runAsUser, envPassthrough, output, ready, HELPERS_AHEAD, REFILL_WHEN_QUIET_FOR);
    }

    /** A launcher that keeps {@code helpersAhead} helpers waiting, replaced once the core has been quiet for {@code refillWhenQuietFor}. */
    ProcessLauncher(PrivilegeDrop privilegeDrop, Optional<String> runAsUser, List<String> envPassthrough,
                    WorkloadOutput output, Future<?> ready, int helpersAhead, Duration refillWhenQuietFor) {
        this(privilegeDrop, runAsUser, envPassthrough, output, ready, helpersAhead, refillWhenQuietFor, ReadyHelper::start);
    }

    /** How a helper is started ahead: {@link ReadyHelper#start(String)}; a test's may fail as the virtual machine can. */
    @FunctionalInterface
    interface HelperStart {
        ReadyHelper start(String helper) throws IOException;
    }

    /** A launcher as above whose helpers are started by {@code helperStart}. */
    ProcessLauncher(PrivilegeDrop privilegeDrop, Optional<String> runAsUser, List<String> envPassthrough,
                    WorkloadOutput output, Future<?> ready, int helpersAhead, Duration refillWhenQuietFor, HelperStart helperStart) {
        this.helperStart = helperStart;
        if (helpersAhead < 1) {
            throw new IllegalArgumentException("at least one helper waits ahead");
        }
        this.helpersAhead = helpersAhead;
        this.refillWhenQuietNanos = refillWhenQuietFor.toNanos();
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
        Process process = readyHelperUsable() ? runInReadyHelper(command, variables)
                : onTheForker(starter(command, variables, launch.workingDirectory()), Process::destroyForcibly);
        Reaper.childStarted();
        CompletableFuture<Void> stdout;
        CompletableFuture<Void> stderr;
        try {
            stdout = output.pump(process.getInputStream(), WorkloadOutput.Stream.STDOUT, process.pid());
            stderr = output.pump(process.getErrorStream(), WorkloadOutput.Stream.STDERR, process.pid());
        } catch (IOException e) {
            // It runs, but nobody would read what it writes: it ends with the launch, whatever it has started since.
            endLaunched(process);
            throw e;
        }
        log.info("workload launched", "pid", process.pid(), "command", String.join(" ", launch.command()),
                "user", effectiveUser().orElse("(core's own)"));
        return new ManagedProcess(process, privilegeDrop.helper().isPresent(), stdout, stderr);
    }

    /**
     * Ends a workload whose launch failed after it began to run, with everything it started in
     * the meantime ({@link ProcessTree#kill}). Its waiting thread reaps it.
     */
    private static void endLaunched(Process process) {
        ProcessTree.kill(process.pid());
        process.destroyForcibly();
        PosixSpawn.closeQuietly(process.getInputStream());
        PosixSpawn.closeQuietly(process.getErrorStream());
    }

    /**
     * How {@code command} is started where no {@link ReadyHelper} can run it (no helper, or no
     * {@code posix_spawn(3)} to start one): with {@link ProcessBuilder}. The helper enters the
     * working directory itself, as the workload's user; without it the launcher sets it.
     */
    private Callable<Process> starter(List<String> command, Map<String, String> variables, Optional<Path> workingDirectory) {
        var builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().clear();
        builder.environment().putAll(variables);
        if (privilegeDrop.helper().isEmpty()) {
            // No helper, so no user switch either: the workload is the core's user and may enter what the core enters.
            workingDirectory.ifPresent(dir -> builder.directory(dir.toFile()));
        }
        return () -> LauncherChildren.started(builder::start, false);
    }

    /** Whether workloads start in a {@link ReadyHelper}: with the helper named by its absolute path, where posix_spawn(3) works. */
    private boolean readyHelperUsable() {
        return privilegeDrop.helper().filter(Path::isAbsolute).isPresent() && PosixSpawn.available();
    }

    /**
     * Runs {@code command} (the helper's absolute path, its options, {@code --}, the workload)
     * in the oldest helper started ahead that still waits, or in one started now when none does
     * (the first launch); then has the one it used replaced, off this launch's path.
     */
    private Process runInReadyHelper(List<String> command, Map<String, String> variables) throws IOException {
        List<String> arguments = command.subList(1, command.size());
        List<String> environment = variables.entrySet().stream().map(variable -> variable.getKey() + "=" + variable.getValue()).toList();
        // Built once, and before a helper is used: it fails on what no helper could run.
        byte[] message = ReadyHelper.message(arguments, environment);
        try {
            ReadyHelper helper = takeReadyHelper(command.getFirst());
            try {
                return helper.run(message);
            } catch (ReadyHelper.GoneException e) {
                log.warn("the helper started ahead had ended; starting another", "reason", e.getMessage());
                return onTheForker(() -> helperStart.start(command.getFirst()), ReadyHelper::discard).run(message);
            }
        } finally {
            replaceUsedHelper(command.getFirst());
        }
    }

    /** The oldest helper started ahead that still waits, or one started now; never one that has ended. */
    private ReadyHelper takeReadyHelper(String helper) throws IOException {
        while (true) {
            CompletableFuture<ReadyHelper> next;
            synchronized (this) {
                next = ahead.pollFirst();
            }
            if (next == null) {
                return onTheForker(() -> helperStart.start(helper), ReadyHelper::discard);
            }
            // Started by now but for a launch right after the last: no hand-over to the launcher's thread then.
            ReadyHelper ready = next.exceptionally(failure -> null).join();
            if (ready != null && ready.waiting()) {
                return ready;
            }
            if (ready != null) {
                ready.discard();
            }
        }
    }

    /**
     * After a launch: with no helper left waiting, one is started at once, for a launch right
     * after; the rest once the core has been quiet for {@link #REFILL_WHEN_QUIET_FOR}.
     */
    private synchronized void replaceUsedHelper(String helper) {
        if (closed) {
            return;
        }
        lastActivity = System.nanoTime();
        if (ahead.isEmpty()) {
            CompletableFuture<ReadyHelper> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return helperStart.start(helper);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } catch (Error e) {
                    passOnIfFatal(e);
                    throw e;
                }
            }, Forker.THREAD);
            // A helper that cannot be started now is started at the next launch, which reports why if it fails again.
            next.exceptionally(failure -> null);
            ahead.addLast(next);
        }
        if (ahead.size() < helpersAhead && refill == null) {
            refill = Forker.THREAD.schedule(() -> refillWhenQuiet(helper), refillWhenQuietNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * On the launcher's thread: starts helpers until {@link #helpersAhead} wait, each only once the
     * core has been quiet for the quiet time, else waits for it again. A helper that cannot be started
     * ends the refill, whatever the reason: the next launch tries again.
     */
    private void refillWhenQuiet(String helper) {
        while (true) {
            synchronized (this) {
                if (closed || ahead.size() >= helpersAhead) {
                    refill = null;
                    return;
                }
                long now = System.nanoTime();
                long quietFor = Math.min(now - lastActivity, now - lastAnswer.getAsLong());
                if (quietFor < refillWhenQuietNanos) {
                    refill = Forker.THREAD.schedule(() -> refillWhenQuiet(helper), refillWhenQuietNanos - quietFor, TimeUnit.NANOSECONDS);
                    return;
                }
            }
            ReadyHelper started;
            try {
                started = helperStart.start(helper);
            } catch (IOException | RuntimeException | Error e) {
                // Whatever it was, the refill is over: the next launch schedules another.
                synchronized (this) {
                    refill = null;
                }
                passOnIfFatal(e);
                return;
            }
            synchronized (this) {
                if (closed) {
                    started.discard();
                    refill = null;
                    return;
                }
                ahead.addLast(CompletableFuture.completedFuture(started));
            }
        }
    }

    /**
     * Tells the launcher the core is busy now (the lifecycle changed phase): the helpers used are
     * replaced only once it has been quiet for {@link #REFILL_WHEN_QUIET_FOR}.
     */
    public void noteActivity() {
        lastActivity = System.nanoTime();
    }

    /**
     * Counts the API's answers as activity too: {@code lastAnswerNanos} gives the {@link System#nanoTime()}
     * of the latest, read only when a refill looks for a quiet moment.
     */
    public void countAnswersOf(LongSupplier lastAnswerNanos) {
        lastAnswer = lastAnswerNanos;
    }

    /**
     * Hands {@code error} to this thread's uncaught exception handler (the fatal error handler's)
     * when it is fatal: what a task on the launcher's thread throws stays in its future, where no
     * handler would see it.
     */
    private static void passOnIfFatal(Throwable error) {
        if (FatalErrors.isFatal(error)) {
            Thread thread = Thread.currentThread();
            thread.getUncaughtExceptionHandler().uncaughtException(thread, error);
        }
    }

    /** Waits until what the launcher's thread was given before now is done (a helper's spawn among it): for tests. */
    static void awaitLauncherThread() throws InterruptedException, ExecutionException {
        Forker.THREAD.submit(() -> { }).get();
    }

    /**
     * Lets the helpers started ahead go and starts no other: at shutdown, once no workload is
     * launched any more. A launch after it still works, without a helper started ahead.
     */
    public void close() {
        List<CompletableFuture<ReadyHelper>> waiting;
        synchronized (this) {
            closed = true;
            waiting = List.copyOf(ahead);
            ahead.clear();
            if (refill != null) {
                refill.cancel(false);
                refill = null;
            }
        }
        waiting.forEach(next -> next.thenAccept(ReadyHelper::discard));
    }

    /**
     * Links the calls that start a workload with {@code posix_spawn(3)}, so that the first start
     * does not pay for it. Called off the start-up path.
     */
    public static void linkSystemCalls() {
        PosixSpawn.link();
    }

    /**
     * Runs {@code start} on the launcher's thread and waits for it uninterruptibly; if the caller
     * was interrupted meanwhile, what it started is {@code undone} rather than left unsupervised.
     */
    private static <T> T onTheForker(Callable<T> start, Consumer<T> undo) throws IOException {
        Future<T> started = Forker.THREAD.submit(start);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    T result = started.get();
                    if (interrupted) {
                        // The caller gave up while the fork ran: end what it started rather than leave it unsupervised.
                        undo.accept(result);
                        throw new IOException("interrupted during launch");
                    }
                    return result;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException failure) {
                throw failure;
            }
            if (cause instanceof RuntimeException failure) {
                throw failure;
            }
            if (cause instanceof Error failure) {
                // Thrown as itself, so that the caller's thread passes a fatal one on to the fatal error handler.
                throw failure;
            }
            throw new IOException(cause);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
