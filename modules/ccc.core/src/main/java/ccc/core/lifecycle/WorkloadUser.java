package ccc.core.lifecycle;

import ccc.core.process.UserAccount;
import java.util.Optional;
import java.util.function.Function;

/**
 * The user {@code run_as_user} names, and the rule the core holds it to: no account whose uid is
 * 0. Such a workload looks dropped and is not: it keeps the core's uid (without capabilities),
 * and with it the JVM's attach mechanism, which admits any peer of the same uid and loads code
 * into the core, which has every capability; it can read the core's mode-0600 secrets too. The
 * start is refused (here, for a workload the core or an adapter starts) and {@code --check-config}
 * warns of it, with the same words.
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
        return name.flatMap(user -> refusal(user, accounts.apply(name)));
    }

    /** Why {@code user}, whose account is {@code account}, is refused as {@code run_as_user}: its uid is 0. */
    public static Optional<String> refusal(String user, Optional<UserAccount> account) {
        if (account.isEmpty() || account.get().uid() != 0) {
            return Optional.empty();
        }
        return Optional.of("run_as_user '" + user + "' has uid 0, the core's own: a workload run as it could load code into the core"
                + " and read its secrets; leave run_as_user unset to run the workload as the core's user, or name an unprivileged user");
    }
}
