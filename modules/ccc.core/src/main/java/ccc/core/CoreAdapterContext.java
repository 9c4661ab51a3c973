package ccc.core;

import ccc.api.AdapterConfig;
import ccc.api.AdapterContext;
import ccc.api.Launch;
import ccc.api.TrafficControl;
import ccc.api.WorkloadProcess;
import ccc.core.lifecycle.LaunchRecord;
import ccc.core.log.SystemLoggerAdapter;
import ccc.core.process.NoFollowFiles;
import ccc.core.process.ManagedProcess;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.ProcessLauncher;
import ccc.core.process.WorkloadTree;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The services the core offers an adapter. */
final class CoreAdapterContext implements AdapterContext, LaunchRecord {

    /** A process launched through the context, numbered in the order of the launches. */
    private record Launched(long number, ManagedProcess process) {
    }

    private final AdapterConfig config;
    private final PrivilegeDrop privilegeDrop;
    private final ProcessLauncher launcher;
    private final TrafficControl trafficControl;
    private final System.Logger logger;
    // Only those still running are kept (pruned at each launch), so it holds no more than the processes alive.
    private final List<Launched> launched = new ArrayList<>();
    private long launches;

    CoreAdapterContext(AdapterConfig config, ProcessLauncher launcher, TrafficControl trafficControl, String adapterName) {
        this.config = config;
        this.privilegeDrop = launcher.privilegeDrop();
        this.launcher = launcher;
        this.trafficControl = trafficControl;
        this.logger = new SystemLoggerAdapter("adapter " + adapterName, launcher.output().redactor());
    }

    @Override
    public AdapterConfig config() {
        return config;
    }

    @Override
    public Optional<String> runAsUser() {
        return privilegeDrop.runningAsRoot() ? config.runAsUser() : Optional.empty();
    }

    @Override
    public List<String> ensureUser(List<String> command) {
        return privilegeDrop.wrap(command, config.runAsUser());
    }

    @Override
    public Path workloadDirectory() throws IOException {
        return launcher.workloadDirectory();
    }

    @Override
    public byte[] readWorkloadFile(Path file, int maxBytes) throws IOException {
        return NoFollowFiles.read(file, maxBytes);
    }

    @Override
    public WorkloadProcess launch(Launch launch) throws IOException {
        ManagedProcess process = launcher.launch(launch);
        synchronized (launched) {
            launched.removeIf(earlier -> !earlier.process().isAlive());
            launched.add(new Launched(++launches, process));
        }
        return process;
    }

    @Override
    public long launches() {
        synchronized (launched) {
            return launches;
        }
    }

    @Override
    public List<WorkloadTree> runningSince(long mark) {
        synchronized (launched) {
            return launched.stream().filter(each -> each.number() > mark && each.process().isAlive())
                    .map(each -> each.process().tree()).toList();
        }
    }

    @Override
    public TrafficControl trafficControl() {
        return trafficControl;
    }

    @Override
    public System.Logger logger() {
        return logger;
    }
}
