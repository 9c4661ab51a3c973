package ccc.api;

import java.util.OptionalLong;

/**
 * A workload process the core started for an adapter: the core reads its output, watches its
 * exit and can end its whole process tree. Return it from {@link Adapter#start}.
 *
 * @since 0.1
 */
public interface WorkloadProcess extends Workload {

    /** The process id. */
    long processId();

    /** The process id: a process workload always has one. */
    @Override
    default OptionalLong pid() {
        return OptionalLong.of(processId());
    }

    /** Whether the process is still running. */
    boolean isAlive();

    /**
     * Sends a signal by name ({@code HUP}, {@code USR1}, {@code TERM}, … with or without the
     * {@code SIG} prefix) to the process.
     *
     * @return whether it was delivered; false when the process has already ended
     * @throws IllegalArgumentException for an unknown signal name
     */
    boolean signal(String name);
}
