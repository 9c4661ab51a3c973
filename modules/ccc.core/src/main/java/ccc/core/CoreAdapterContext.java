package ccc.core;

import ccc.api.AdapterConfig;
import ccc.api.AdapterContext;
import ccc.core.log.SystemLoggerAdapter;
import ccc.core.process.PrivilegeDrop;
import java.util.List;
import java.util.Optional;

/** The services the core offers an adapter. */
final class CoreAdapterContext implements AdapterContext {

    private final AdapterConfig config;
    private final PrivilegeDrop privilegeDrop;
    private final System.Logger logger;

    CoreAdapterContext(AdapterConfig config, PrivilegeDrop privilegeDrop, String adapterName) {
        this.config = config;
        this.privilegeDrop = privilegeDrop;
        this.logger = new SystemLoggerAdapter("adapter " + adapterName);
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
    public System.Logger logger() {
        return logger;
    }
}
