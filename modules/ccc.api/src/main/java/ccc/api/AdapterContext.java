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
     * Returns {@code command} unchanged unless {@code run_as_user} is set and the core runs as
     * root; then a command that runs {@code command} as that user, with the environment kept,
     * no new privileges and no capabilities.
     *
     * @throws IllegalStateException if the user does not exist or privileges cannot be dropped
     */
    List<String> ensureUser(List<String> command);

    /**
     * Starts a command as the workload's user (when {@code run_as_user} is set and the core
     * runs as root), with its stdout and stderr read into the core's log and
     * {@code /api/logs}. Return the handle from {@link Adapter#start} so the core watches it.
     *
     * @throws java.io.IOException if the command cannot be started
     * @throws IllegalStateException if the user does not exist or privileges cannot be dropped
     */
    WorkloadProcess launch(Launch launch) throws java.io.IOException;

    /** The core's traffic-control service, on the interface {@code traffic_control.interface} names. */
    TrafficControl trafficControl();

    /** A logger whose lines go to the core's log, tagged with the adapter's name. */
    System.Logger logger();
}
