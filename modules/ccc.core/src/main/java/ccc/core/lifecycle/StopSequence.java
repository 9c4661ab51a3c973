package ccc.core.lifecycle;

import ccc.api.Workload;
import ccc.api.WorkloadExit;
import ccc.core.log.Log;
import ccc.core.log.Timeline;
import ccc.core.process.ManagedProcess;
import ccc.core.process.PrivilegedCommands;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadOutput;
import ccc.core.process.WorkloadTree;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The stop sequence, and the one place that ends a workload's process tree: the workload is
 * asked to stop (by the adapter, or with the stop signal) and whatever of its tree is left when
 * the grace runs out gets SIGKILL; then the exit hook, the adapter's post-stop hook, removing
 * traffic shaping, and the privileged post-stop commands. Every step runs even when an earlier
 * one failed.
 */
final class StopSequence {

    /** Why a stop sequence runs. */
    enum Reason {
        /** A stop (or a restart) was asked for: the workload gets its grace. */
        REQUESTED,
        /** A forced stop: everything is killed at once. */
        FORCED,
        /** The workload's main process ended on its own: what it left is killed at once, as a container's init dying would. */
        EXITED
    }

    /** How a stop sequence ended: the workload's exit code, when known, and what went wrong. */
    record Result(OptionalInt exitCode, List<Failure> problems) {
    }

    private final Log log;
    // Once the tree is gone the exit code follows at once; this only bounds a workload whose end the core cannot see.
    private static final Duration EXIT_CODE_WAIT = Duration.ofSeconds(2);
    private static final Duration OUTPUT_WAIT = Duration.ofSeconds(2);
    private static final int EXIT_TAIL_LINES = 50;

    private final LifecycleSetup setup;
    private final Consumer<WorkloadExit> exitObserved;

    StopSequence(LifecycleSetup setup, Consumer<WorkloadExit> exitObserved, Log log) {
        this.setup = setup;
        this.exitObserved = exitObserved;
        this.log = log;
    }

    /**
     * Runs the whole sequence for {@code workload}, or, with none (a start that failed part-way),
     * everything but ending it; each step is marked on {@code timeline}.
     */
    Result run(Optional<RunningWorkload> workload, Reason reason, Timeline timeline) {
        var problems = new ArrayList<Failure>();
        OptionalInt exitCode = OptionalInt.empty();
        if (workload.isPresent()) {
            RunningWorkload running = workload.get();
            boolean endedBefore = exitCodeIfEnded(running.workload()).isPresent();
            end(running, reason, problems);
            timeline.step("end_tree");
            exitCode = awaitExitCode(running.workload());
            timeline.step("exit_code");
            if (reason == Reason.EXITED || !endedBefore) {
                // The tree is gone, so its pipes are closed: the last lines are read before the exit hook sees them.
                awaitOutput(running.workload());
                timeline.step("output");
                notifyExit(running.output(), exitCode.orElse(-1), reason != Reason.EXITED);
                timeline.step("exit_hook");
            }
        } else if (setup.processAdapter().isEmpty()) { // the adapter runs the workload: its stop ends it
            // The adapter may have started something before its start failed.
            callAdapterStop(setup.timeouts().stopTimeout(), problems);
            timeline.step("adapter_stop");
        }
        try {
            AdapterCalls.hook(setup, "post_stop hook", () -> setup.adapter().postStop(setup.context()));
        } catch (AdapterCallException e) {
            problems.add(e.failure());
        }
        timeline.step("post_stop_hook");
        if (setup.shaper().applied().isPresent()) {
            setup.shaper().clear();
            timeline.step("unshape");
        }
        runPostStopCommands(problems);
        timeline.step("post_stop_commands");
        return new Result(exitCode, problems);
    }

    /**
     * SIGKILL to the whole of {@code tree} at once: for a process an adapter launched in a start
     * that failed, for a shutdown whose grace ran out, and for a fatal error in the core.
     */
    void endAtOnce(WorkloadTree tree) {
        setup.processes().endTree(tree, Signals.KILL, Instant.now());
    }

    /** Tells the observers and the adapter how the workload ended, with the last lines it wrote (none of an earlier run's). */
    private void notifyExit(RunOutput output, int exitCode, boolean requested) {
        var exit = new WorkloadExit(exitCode, requested, output.lastLines(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDOUT),
                output.lastLines(EXIT_TAIL_LINES, WorkloadOutput.Stream.STDERR));
        exitObserved.accept(exit);
        try {
            AdapterCalls.hook(setup, "exit hook", () -> setup.adapter().onWorkloadExit(exit));
        } catch (AdapterCallException e) {
            log.warn("adapter exit hook failed", "reason", e.getMessage());
        }
    }

    private void end(RunningWorkload running, Reason reason, List<Failure> problems) {
        RunningWorkload.StopPolicy policy = running.stop();
        Instant deadline = Instant.now().plus(policy.grace());
        switch (reason) {
            case FORCED -> setup.processes().endTree(running.tree(), Signals.KILL, Instant.now());
            case EXITED -> {
                if (policy.adapterStops()) {
                    callAdapterStop(policy.grace(), problems);
                }
                setup.processes().endTree(running.tree(), Signals.KILL, Instant.now());
            }
            case REQUESTED -> {
                if (policy.adapterStops()) {
                    callAdapterStop(policy.grace(), problems);
                    // Whatever the adapter's stop left gets the usual signal, and SIGKILL when the grace is over.
                    setup.processes().endTree(running.tree(), Signals.TERM, deadline);
                } else {
                    setup.processes().endTree(running.tree(), policy.signal(), deadline);
                }
            }
        }
    }

    private void callAdapterStop(Duration bound, List<Failure> problems) {
        try {
            AdapterCalls.run("stop", bound, setup.adapter()::stop);
        } catch (AdapterCallException e) {
            problems.add(e.failure());
        }
    }

    private void runPostStopCommands(List<Failure> problems) {
        for (List<String> command : setup.privileged() ? setup.privilegedCommands().postStop() : List.<List<String>>of()) {
            try {
                setup.processes().runPrivileged(command, setup.privilegedCommands().timeout());
            } catch (PrivilegedCommands.CommandFailedException e) {
                log.warn("post_stop command failed", "reason", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problems.add(Failure.of(Failure.Kind.CORE, "interrupted during post_stop commands"));
                return;
            }
        }
    }

    static OptionalInt exitCodeIfEnded(Workload workload) {
        var future = workload.exit().toCompletableFuture();
        return future.isDone() && !future.isCompletedExceptionally() ? knownExitCode(future.join()) : OptionalInt.empty();
    }

    /**
     * The code a workload's exit completed with, when it is one a process can have: an adapter's own
     * {@link Workload} may complete with null or a negative number, which say nothing (and null, unboxed, would
     * throw on the lifecycle's writer and leave the workload shown running for good).
     */
    static OptionalInt knownExitCode(Integer code) {
        return code != null && code >= 0 ? OptionalInt.of(code) : OptionalInt.empty();
    }

    /**
     * Waits until a workload the core started has no output left to read. Its tree has ended by
     * now, so its pipes are closed; a process outside the tree that inherited them (a daemon that
     * escaped into a session of its own and the core's view) could hold them open, hence the bound.
     */
    private void awaitOutput(Workload workload) {
        if (workload instanceof ManagedProcess managed) {
            try {
                managed.outputDrained().toCompletableFuture().get(OUTPUT_WAIT.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                log.debug("workload output still open after its tree ended; the exit hook gets what was read");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static OptionalInt awaitExitCode(Workload workload) {
        try {
            return knownExitCode(workload.exit().toCompletableFuture().get(EXIT_CODE_WAIT.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException | ExecutionException e) {
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.empty();
        }
    }
}
