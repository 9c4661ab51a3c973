package ccc.core.metrics;

/**
 * One reading of the container's cgroup. Figures the hierarchy does not offer are -1.
 *
 * @param version 1 or 2
 * @param cpuUsageNanos CPU time used by the whole cgroup since it was created
 * @param cpuQuotaCores the CPU quota in cores, or 0 when none is set
 * @param throttledPeriods how many enforcement periods were throttled
 * @param throttledNanos how long the cgroup was throttled in all
 * @param memoryUsage memory charged to the cgroup, page cache included
 * @param memoryLimit the memory limit, or 0 when none is set
 * @param inactiveFile inactive file cache, which the kernel can reclaim at once
 * @param oomKills processes killed by the OOM killer in this cgroup
 * @param pids tasks in the cgroup
 */
public record CgroupSample(
        int version,
        long cpuUsageNanos,
        double cpuQuotaCores,
        long throttledPeriods,
        long throttledNanos,
        long memoryUsage,
        long memoryLimit,
        long inactiveFile,
        long oomKills,
        long pids) {

    /** The working set, as the kubelet and {@code docker stats} count it: usage less inactive file cache. */
    public long workingSet() {
        return Math.max(0, memoryUsage - Math.max(0, inactiveFile));
    }
}
