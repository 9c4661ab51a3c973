package ccc.core.lifecycle;

import ccc.core.process.WorkloadTree;
import java.util.List;

/**
 * The processes an adapter launched through its context, so that a start that fails ends what it
 * launched: a start that throws or times out after a launch never hands that workload back, and
 * nothing else would stop it.
 */
public interface LaunchRecord {

    /** How many launches there have been so far: the mark a start takes before it calls the adapter. */
    long launches();

    /** The trees of the processes launched after {@code mark} launches that still run. */
    List<WorkloadTree> runningSince(long mark);
}
