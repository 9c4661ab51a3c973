package ccc.core.process;

import java.util.OptionalLong;

/**
 * What belongs to one workload, for ending it whole: its main process, that process's group when
 * it leads one, its descendants, and every orphan the core adopted, with theirs (what it left
 * behind, re-parented to the core as child subreaper); see {@link ProcessTree}.
 *
 * @param pid the main process, when the workload is a process
 * @param ownProcessGroup whether the main process leads a process group of its own
 * @param root how the main process is opened: only while it is not reaped, so that its number,
 *             which the kernel gives to the next process once it is reaped, never names another
 */
public record WorkloadTree(OptionalLong pid, boolean ownProcessGroup, RootProcess root) {

    /** A workload with no process of its own (threads inside an adapter, say). */
    public static final WorkloadTree NONE = new WorkloadTree(OptionalLong.empty(), false);

    /**
     * A tree known by its main process's number alone (an adapter's own process, a privileged
     * command): its number is opened at each look, so it names the main process only while the
     * caller knows that process is not reaped (the lifecycle, in turn with its exit).
     */
    public WorkloadTree(OptionalLong pid, boolean ownProcessGroup) {
        this(pid, ownProcessGroup, () -> pid.isPresent() ? Native.pidfdOpen(pid.getAsLong()) : -Native.ESRCH);
    }

    /** Opens a pidfd of the main process while it is not reaped. */
    @FunctionalInterface
    public interface RootProcess {
        /** A pidfd of the main process, or minus the errno: ESRCH once it is reaped, ENOSYS where the kernel has no pidfds. */
        int openPidfd();

        /**
         * Whether {@link #openPidfd()} knows when the main process is reaped and refuses from
         * then on (a process the core started), rather than open its number whoever has it now
         * (a process known by its number alone, such as an adapter's own).
         */
        default boolean refusesOnceReaped() {
            return false;
        }
    }
}
