package ccc.core.process;

import ccc.api.WorkloadProcess;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** A workload process the core started: its exit is watched and its output read. */
public final class ManagedProcess implements WorkloadProcess {

    private final Process process;
    private final boolean ownProcessGroup;
    private final CompletableFuture<Integer> exit;

    ManagedProcess(Process process, boolean ownProcessGroup, Thread stdout, Thread stderr) {
        this.process = process;
        this.ownProcessGroup = ownProcessGroup;
        // The exit completes once the output is drained too, so the last lines are there for the exit hook.
        this.exit = process.onExit().thenApplyAsync(ended -> {
            join(stdout);
            join(stderr);
            return ended.exitValue();
        }, runnable -> Thread.ofVirtual().start(runnable));
    }

    private static void join(Thread pump) {
        try {
            pump.join(java.time.Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public long processId() {
        return process.pid();
    }

    @Override
    public OptionalLong pid() {
        return OptionalLong.of(process.pid());
    }

    @Override
    public CompletionStage<Integer> exit() {
        return exit;
    }

    @Override
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Whether the process leads a process group of its own, so the whole group can be signalled. */
    public boolean ownProcessGroup() {
        return ownProcessGroup;
    }

    @Override
    public boolean signal(String name) {
        int number = Signals.number(name).orElseThrow(() -> new IllegalArgumentException("unknown signal '" + name + "'"));
        return process.isAlive() && Native.kill(process.pid(), number) == 0;
    }
}
