package ccc.core.process;

import java.util.OptionalLong;

/**
 * What belongs to one workload, for ending it whole: its main process, that process's group when
 * it leads one, its descendants, and every orphan the core adopted, with theirs (what it left
 * behind, re-parented to the core as child subreaper); see {@link ProcessTree}.
 *
 * @param pid the main process, when the workload is a process
 * @param ownProcessGroup whether the main process leads a process group of its own
 */
public record WorkloadTree(OptionalLong pid, boolean ownProcessGroup) {

    /** A workload with no process of its own (threads inside an adapter, say). */
    public static final WorkloadTree NONE = new WorkloadTree(OptionalLong.empty(), false);
}
