package ccc.api;

import java.util.List;
import java.util.Optional;

/**
 * The core's services, handed to an adapter's lifecycle methods.
 *
 * @since 0.1
 */
public interface AdapterContext {

    /** The adapter's static configuration. */
    AdapterConfig config();

    /** The user the workload runs as, when the core runs as root and drops privileges. */
    Optional<String> runAsUser();

    /**
     * A command that runs {@code command} through the core's {@code ccc-exec} helper, for an
     * adapter that starts processes itself: the environment the adapter gives it is kept, less
     * every {@code CCC_*} variable (the core's own, its API token among them); and when
     * {@code run_as_user} is set and the core runs as root, it runs as that user, with HOME, USER
     * and LOGNAME set, no new privileges and no capabilities. Where the helper is not installed
     * (outside the runtime image) and no user switch is needed, {@code command} itself. Unlike
     * {@link #launch}, such a process does not die with the core, and its working directory is
     * entered by the adapter's own process builder: prefer {@link #launch}.
     *
     * @throws IllegalStateException if the user does not exist or privileges cannot be dropped
     */
    List<String> ensureUser(List<String> command);

    /**
     * Starts a command as the workload's user (when {@code run_as_user} is set and the core
     * runs as root), with its stdout and stderr read into the core's log and
     * {@code /api/logs}. Return the handle from {@link Adapter#start} so the core watches it.
     *
     * <p>The environment is built, not inherited from the core: PATH (the core's, or a standard
     * default), HOME, USER and LOGNAME of the workload's user, LANG, LC_* and TZ when the core
     * has them, the core's variables that {@code adapter.env_passthrough} names, then
     * {@link Launch#environment()}. No {@code CCC_*} variable is ever passed on. The working
     * directory is entered as the workload's user, and the process is killed by the kernel
     * should the core die.
     *
     * @throws java.io.IOException if the command cannot be started
     * @throws IllegalArgumentException if the launch names a {@code CCC_*} variable
     * @throws IllegalStateException if the user does not exist or privileges cannot be dropped
     */
    WorkloadProcess launch(Launch launch) throws java.io.IOException;

    /**
     * A directory for files the workload and the adapter share, such as a stats file: created
     * on first use, the same for the core's lifetime, owned by the workload's user and mode 0700,
     * so that no other user can reach it. The workload can put anything in it (links, huge
     * files, FIFOs): read its files as untrusted, with {@link #readWorkloadFile}.
     *
     * @throws java.io.IOException if it cannot be created
     * @since 0.1
     */
    java.nio.file.Path workloadDirectory() throws java.io.IOException;

    /**
     * Reads at most {@code maxBytes} of a file the workload can write or replace, as the core
     * reads such files: following a symbolic link on its path only where nobody but root can
     * have made it (a link owned by root in a directory only root may write, as in a Kubernetes
     * ConfigMap volume; at most 16 of them), and reading only a regular file, opened without
     * waiting for a writer, so a FIFO the workload swapped in is refused at once instead of
     * blocking the reader in the kernel, where no interrupt reaches.
     *
     * @return the file's first {@code maxBytes} bytes (all of it when it is no longer)
     * @throws java.nio.file.NoSuchFileException when there is no such file
     * @throws java.io.IOException when it or a directory on its path is a link others than root
     *         could have made, or one link too many, it is not a regular file, or it cannot be read
     * @since 0.1
     */
    byte[] readWorkloadFile(java.nio.file.Path file, int maxBytes) throws java.io.IOException;

    /** The core's traffic-control service, on the interface {@code traffic_control.interface} names. */
    TrafficControl trafficControl();

    /** A logger whose lines go to the core's log, tagged with the adapter's name. */
    System.Logger logger();
}
