package ccc.core.process;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;

/**
 * Everything the lifecycle asks of the operating system, in one small interface: the real one is
 * {@link SystemProcessControl}; the lifecycle's unit tests use a fake, so that every
 * state-machine case runs without processes.
 */
public interface ProcessControl {

    /** Sends {@code signal} to the main process of {@code tree}, never to another that took its number; whether it was delivered. */
    boolean signal(WorkloadTree tree, int signal);

    /**
     * Ends a workload's whole tree, as Docker, Kubernetes and systemd end a container:
     * {@code signal} to every member at once, then SIGKILL to every survivor at
     * {@code deadline}. A deadline already past kills at once. Returns when nothing of the tree
     * is left, or shortly after the SIGKILL if something will not die.
     *
     * @return whether the whole tree is gone
     */
    boolean endTree(WorkloadTree tree, int signal, Instant deadline);

    /**
     * SIGKILL to {@code tree} at once, and to nothing else of the workload's (the orphans the core
     * adopted, what the workload cloned beside itself): for a tree that is not the running
     * workload's, such as one an adapter's start returned after its timeout.
     *
     * @return whether the whole tree is gone
     */
    boolean killOnly(WorkloadTree tree);

    /**
     * SIGKILL to every orphan the core adopted and to their descendants, with no workload's tree
     * to end: what a workload left behind after its main process was gone (see
     * {@link ProcessTree#sweepOrphans()}). Cheap when nothing was adopted.
     *
     * @return whether nothing adopted is left running
     */
    boolean sweepOrphans();

    /**
     * Runs one configured command as the core's own user (root in a container), bounded by
     * {@code timeout}, its output logged.
     *
     * @throws PrivilegedCommands.CommandFailedException when it does not exit 0 in time
     */
    void runPrivileged(List<String> command, Duration timeout) throws PrivilegedCommands.CommandFailedException, InterruptedException;
}
