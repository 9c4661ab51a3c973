package ccc.core.process;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;

/** {@link ProcessControl} on this machine: {@code kill(2)}, {@code /proc} and real child processes. */
public final class SystemProcessControl implements ProcessControl {

    @Override
    public boolean signal(WorkloadTree tree, int signal) {
        return ProcessTree.signalRoot(tree, signal);
    }

    @Override
    public boolean endTree(WorkloadTree tree, int signal, Instant deadline) {
        return ProcessTree.end(tree, signal, deadline);
    }

    @Override
    public boolean killOnly(WorkloadTree tree) {
        return ProcessTree.killOnly(tree);
    }

    @Override
    public boolean sweepOrphans() {
        return ProcessTree.sweepOrphans();
    }

    @Override
    public void runPrivileged(List<String> command, Duration timeout) throws PrivilegedCommands.CommandFailedException, InterruptedException {
        PrivilegedCommands.run(command, timeout);
    }
}
