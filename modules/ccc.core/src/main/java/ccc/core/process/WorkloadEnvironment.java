package ccc.core.process;

import ccc.core.os.CoreVariables;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The environment a workload starts with: built, never inherited, so that none of the core's own
 * variables (its API token among them) reach the workload. It is, in order: {@code PATH} (the
 * core's, else {@link #DEFAULT_PATH}); {@code HOME}, {@code USER} and {@code LOGNAME} of the
 * workload's user; {@code LANG}, {@code LC_*} and {@code TZ} when the core has them; the
 * variables {@code adapter.env_passthrough} names, when the core has them; then the launch's own
 * variables ({@code process_management.env} or {@code Launch.environment()}). A variable whose
 * name starts with {@value CoreVariables#PREFIX} never reaches a workload.
 */
public final class WorkloadEnvironment {

    /** The workload's PATH when the core has none: the usual default of a Debian system. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final Map<String, String> core;
    private final List<String> passthrough;

    /** Builds from {@code coreEnvironment} (the core's own, {@link System#getenv()}) and the names to pass on. */
    public WorkloadEnvironment(Map<String, String> coreEnvironment, List<String> passthrough) {
        this.core = Map.copyOf(coreEnvironment);
        this.passthrough = List.copyOf(passthrough);
        for (String name : this.passthrough) {
            requireWorkloadVariable(name);
        }
    }

    /**
     * The environment of a workload running as {@code account}; when the account is unknown (a
     * core running under a uid without a passwd entry) the core's own {@code HOME}, {@code USER}
     * and {@code LOGNAME} are the workload's user's, since that user is the core's.
     *
     * @throws IllegalArgumentException if {@code launchVariables} names a {@code CCC_} variable
     */
    public Map<String, String> build(Optional<UserAccount> account, Map<String, String> launchVariables) {
        var environment = new LinkedHashMap<String, String>();
        environment.put("PATH", core.getOrDefault("PATH", DEFAULT_PATH));
        if (account.isPresent()) {
            environment.put("HOME", account.get().home());
            environment.put("USER", account.get().name());
            environment.put("LOGNAME", account.get().name());
        } else {
            copy(List.of("HOME", "USER", "LOGNAME"), environment);
        }
        copy(List.of("LANG", "TZ"), environment);
        copy(core.keySet().stream().filter(name -> name.startsWith("LC_")).sorted().toList(), environment);
        copy(passthrough, environment);
        for (var variable : launchVariables.entrySet()) {
            requireWorkloadVariable(variable.getKey());
            environment.put(variable.getKey(), variable.getValue());
        }
        return environment;
    }

    private void copy(List<String> names, Map<String, String> environment) {
        for (String name : names) {
            String value = core.get(name);
            if (value != null && CoreVariables.refusal(name).isEmpty()) {
                environment.put(name, value);
            }
        }
    }

    private static void requireWorkloadVariable(String name) {
        Optional<String> refusal = CoreVariables.refusal(name);
        if (refusal.isPresent()) {
            throw new IllegalArgumentException("environment variable " + refusal.get());
        }
    }
}
