package ccc.core.os;

import java.util.Optional;

/** The core's own environment variables, which never reach a workload: one rule, for the configuration and the launcher. */
public final class CoreVariables {

    /** The core's own variables start with this; none is ever passed on. */
    public static final String PREFIX = "CCC_";

    private CoreVariables() {
    }

    /** Why the variable {@code name} may never reach a workload, if it may not: it is one of the core's own. */
    public static Optional<String> refusal(String name) {
        return name.startsWith(PREFIX)
                ? Optional.of("'" + name + "': names starting with " + PREFIX + " are the core's own and never reach the workload")
                : Optional.empty();
    }
}
