package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Builds the command that starts a workload through the {@code ccc-exec} helper: in a session
 * of its own, bound to the core's life, and, when the core runs as root and a user is named, as
 * that user with its primary and supplementary groups, no capabilities and no new privileges.
 */
public final class PrivilegeDrop {

    private final UserDirectory users;
    private final Optional<Path> helper;
    private final boolean root;

    public PrivilegeDrop(UserDirectory users, Optional<Path> helper, boolean root) {
        this.users = users;
        this.helper = helper;
        this.root = root;
    }

    /** For this process: root or not, and the helper from {@code -Dccc.exec.helper} or the runtime image. */
    public static PrivilegeDrop system() {
        return new PrivilegeDrop(UserDirectory.system(), locateHelper(), currentUid() == 0);
    }

    /** Whether the core runs as root, so that privileges can be dropped at all. */
    public boolean runningAsRoot() {
        return root;
    }

    /** Whether the helper is installed. */
    public Optional<Path> helper() {
        return helper;
    }

    /**
     * The command an adapter starts itself ({@code AdapterContext.ensureUser}): through the
     * helper, which removes the core's {@code CCC_*} variables from the environment it is given
     * and keeps the rest, and, when the core is root and {@code user} is named, runs it as that
     * user with HOME, USER and LOGNAME set. Without the helper (a build where no C compiler was
     * found; the runtime image always has it) {@code command} itself, when no user switch is needed.
     *
     * @throws IllegalStateException if the user is unknown or the helper is missing for a switch
     */
    public List<String> wrap(List<String> command, Optional<String> user) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        boolean switchUser = user.isPresent() && root;
        if (helper.isEmpty() && !switchUser) {
            return List.copyOf(command);
        }
        var options = new ArrayList<String>(List.of("--drop-core-env"));
        if (switchUser) {
            UserAccount account = requireAccount(user.get());
            options.addAll(List.of("--env", "HOME=" + account.home(), "--env", "USER=" + account.name(), "--env", "LOGNAME=" + account.name()));
            options.addAll(switchTo(account));
        }
        return helperCommand(options, command, user);
    }

    /**
     * The command the launcher starts, with the environment it built: in a new session, killed
     * by the kernel when the core ends, in {@code workingDirectory} (entered after the switch,
     * as the workload's user), and as {@code user} when the core is root. {@code command} itself
     * when the helper is missing and no user switch is needed; the launcher then sets the
     * working directory.
     *
     * @throws IllegalStateException if the user is unknown or the helper is missing for a switch
     */
    public List<String> launchCommand(List<String> command, Optional<String> user, Optional<Path> workingDirectory) {
        boolean switchUser = user.isPresent() && root;
        if (helper.isEmpty() && !switchUser) {
            return List.copyOf(command);
        }
        var options = new ArrayList<String>(List.of("--setsid", "--die-with-parent"));
        workingDirectory.ifPresent(directory -> options.addAll(List.of("--chdir", directory.toString())));
        if (switchUser) {
            options.addAll(switchTo(requireAccount(user.get())));
        }
        return helperCommand(options, command, user);
    }

    /**
     * The account a workload runs as: {@code user}'s when the core is root and one is named, else
     * the core's own (looked up by its uid); empty when the passwd file has no entry for it.
     *
     * @throws IllegalStateException if the core is root and the named user does not exist
     */
    public Optional<UserAccount> workloadAccount(Optional<String> user) {
        if (user.isPresent() && root) {
            return Optional.of(requireAccount(user.get()));
        }
        return users.find(Long.toString(currentUid()));
    }

    private UserAccount requireAccount(String user) {
        UserAccount account = users.find(user).orElseThrow(() -> new IllegalStateException("run_as_user '" + user + "' does not exist"));
        refusal(user, account).ifPresent(reason -> {
            throw new IllegalStateException(reason);
        });
        return account;
    }

    /**
     * Why {@code user}, whose account is {@code account}, is refused as {@code run_as_user}: its
     * uid is 0. Such a workload looks dropped and is not: it keeps the core's uid (without
     * capabilities), and with it the JVM's attach mechanism, which admits any peer of the same uid
     * and loads code into the core, which has every capability; it could read the core's mode-0600
     * secrets too. Every switch to it is refused (a start's first step asks too, so that nothing
     * runs for such a start), and {@code --check-config} warns of it with the same words.
     */
    public static Optional<String> refusal(String user, UserAccount account) {
        if (account.uid() != 0) {
            return Optional.empty();
        }
        return Optional.of("run_as_user '" + user + "' has uid 0, the core's own: a workload run as it could load code into the core"
                + " and read its secrets; leave run_as_user unset to run the workload as the core's user, or name an unprivileged user");
    }

    private static List<String> switchTo(UserAccount account) {
        return List.of(
                "--groups", account.groups().stream().map(String::valueOf).collect(Collectors.joining(",")),
                "--gid", Long.toString(account.gid()),
                "--uid", Long.toString(account.uid()),
                "--no-new-privs");
    }

    private List<String> helperCommand(List<String> options, List<String> command, Optional<String> user) {
        Path tool = helper.orElseThrow(() -> new IllegalStateException(
                "cannot run as '" + user.orElse("") + "': the ccc-exec helper is not installed"));
        var wrapped = new ArrayList<String>(command.size() + options.size() + 2);
        wrapped.add(tool.toString());
        wrapped.addAll(options);
        wrapped.add("--");
        wrapped.addAll(command);
        return List.copyOf(wrapped);
    }

    /** The account of a user, for file ownership. */
    public Optional<UserAccount> account(Optional<String> user) {
        return root ? user.flatMap(users::find) : Optional.empty();
    }

    /** The real uid of this process, from {@code /proc/self/status}, read once (the core never changes it); -1 when unknown. */
    public static long currentUid() {
        return OwnUid.VALUE;
    }

    private static final class OwnUid {
        static final long VALUE = readUid();
    }

    private static long readUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return UserAccount.parseId(line.substring(4).trim().split("\\s+")[0]).orElse(-1);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    static Optional<Path> locateHelper() {
        String configured = System.getProperty("ccc.exec.helper");
        Path candidate = configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of(System.getProperty("java.home"), "lib", "ccc-exec");
        return Files.isExecutable(candidate) ? Optional.of(candidate) : Optional.empty();
    }
}
