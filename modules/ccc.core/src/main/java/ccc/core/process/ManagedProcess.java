package ccc.core.process;

import ccc.core.os.Signals;
import ccc.api.Workload;
import ccc.api.WorkloadProcess;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A workload process the core started: its exit is watched and its output read. The exit is
 * reported the moment the process ends; the output pumps end later, when every process that
 * holds the pipes (a grandchild may) has closed them, so whoever wants the last lines waits for
 * {@link #outputDrained()} separately, after ending the rest of the tree.
 */
public final class ManagedProcess implements WorkloadProcess {

    private final Process process;
    private final boolean ownProcessGroup;
    private final CompletionStage<Integer> exit;
    private final CompletableFuture<Void> outputDrained;

    ManagedProcess(Process process, boolean ownProcessGroup, CompletableFuture<Void> stdout, CompletableFuture<Void> stderr) {
        this.process = process;
        this.ownProcessGroup = ownProcessGroup;
        // Watched as an adapter's own process is, by a thread that waits for it, not through Process.onExit(); a
        // process the launcher spawned itself is reaped by such a thread already, which completes its exit code.
        this.exit = process instanceof SpawnedProcess spawned ? spawned.exitCode() : Workload.of(process).exit();
        this.outputDrained = CompletableFuture.allOf(stdout, stderr);
    }

    /** Completes when both output streams have reached their end, so every line is in the workload's output. */
    public CompletionStage<Void> outputDrained() {
        return outputDrained;
    }

    @Override
    public long processId() {
        return process.pid();
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
        return signal(number);
    }

    /** Sends {@code number} to the process, never to another that took its number; whether it was delivered. */
    boolean signal(int number) {
        return ProcessTree.signalRoot(tree(), number);
    }

    /**
     * A new pidfd of the process while it is not reaped, else minus ESRCH (minus ENOSYS where
     * the kernel has none): its number is opened only while no other process can have it.
     */
    public int openPidfd() {
        if (process instanceof SpawnedProcess spawned) {
            return spawned.openPidfd();
        }
        // The JDK marks the process ended only after reaping it: alive before and after the open, the number was still its own.
        if (!process.isAlive()) {
            return -Native.ESRCH;
        }
        int pidfd = Native.pidfdOpen(process.pid());
        if (pidfd >= 0 && !process.isAlive()) {
            Native.close(pidfd);
            return -Native.ESRCH;
        }
        return pidfd;
    }

    /** This process's tree, opened through {@link #openPidfd()}, which refuses once it is reaped; see {@link WorkloadTree}. */
    public WorkloadTree tree() {
        return new WorkloadTree(java.util.OptionalLong.of(process.pid()), ownProcessGroup, new WorkloadTree.RootProcess() {
            @Override
            public int openPidfd() {
                return ManagedProcess.this.openPidfd();
            }

            @Override
            public boolean refusesOnceReaped() {
                return true;
            }
        });
    }
}
