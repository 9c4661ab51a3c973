package ccc.core.lifecycle;

import ccc.core.process.PrivilegeDrop;
import ccc.core.process.UserAccount;
import java.util.Optional;
import java.util.function.Function;

/**
 * The user {@code run_as_user} names, asked about first at each start: an account the core
 * refuses to switch to ({@link PrivilegeDrop#refusal}, uid 0) refuses the whole start before
 * anything runs for it, privileged commands and adapter calls included.
 */
public final class WorkloadUser {

    /** No {@code run_as_user}: the workload runs as the core's user, which nothing here refuses. */
    public static final WorkloadUser NONE = new WorkloadUser(Optional.empty(), user -> Optional.empty());

    private final Optional<String> name;
    private final Function<Optional<String>, Optional<UserAccount>> accounts;

    /**
     * @param name {@code run_as_user}, when set
     * @param accounts the account a name has when the core would switch to it, looked up at each
     *                 start; empty when the core is not root (run_as_user is not applied) or has no such user
     */
    public WorkloadUser(Optional<String> name, Function<Optional<String>, Optional<UserAccount>> accounts) {
        this.name = name;
        this.accounts = accounts;
    }

    /** Why a start now is refused for this user, when it is: an unknown user fails later, as its launch finds none. */
    Optional<String> refusal() {
        return name.flatMap(user -> accounts.apply(name).flatMap(account -> PrivilegeDrop.refusal(user, account)));
    }
}
