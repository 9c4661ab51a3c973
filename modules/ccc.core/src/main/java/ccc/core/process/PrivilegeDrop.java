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
 * of its own and, when the core runs as root and a user is named, as that user with its
 * primary and supplementary groups, HOME, USER and LOGNAME, no capabilities and no new
 * privileges.
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
     * Returns {@code command} unchanged when {@code user} is empty or the core is not root;
     * otherwise the command that runs it as {@code user} with the environment kept.
     *
     * @throws IllegalStateException if the user is unknown or the helper is missing
     */
    public List<String> wrap(List<String> command, Optional<String> user) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        if (user.isEmpty() || !root) {
            return List.copyOf(command);
        }
        return helperCommand(command, user, false);
    }

    /**
     * The command that starts {@code command} in a new session, as {@code user} when the core is
     * root; {@code command} itself when the helper is missing and no user switch is needed.
     */
    public List<String> launchCommand(List<String> command, Optional<String> user) {
        boolean switchUser = user.isPresent() && root;
        if (helper.isEmpty() && !switchUser) {
            return List.copyOf(command);
        }
        return helperCommand(command, switchUser ? user : Optional.empty(), true);
    }

    private List<String> helperCommand(List<String> command, Optional<String> user, boolean newSession) {
        Path tool = helper.orElseThrow(() -> new IllegalStateException(
                "cannot run as '" + user.orElse("") + "': the ccc-exec helper is not installed"));
        var wrapped = new ArrayList<String>(command.size() + 16);
        wrapped.add(tool.toString());
        if (newSession) {
            wrapped.add("--setsid");
        }
        if (user.isPresent()) {
            UserAccount account = users.find(user.get())
                    .orElseThrow(() -> new IllegalStateException("run_as_user '" + user.get() + "' does not exist"));
            wrapped.addAll(List.of(
                    "--env", "HOME=" + account.home(),
                    "--env", "USER=" + account.name(),
                    "--env", "LOGNAME=" + account.name(),
                    "--groups", account.groups().stream().map(String::valueOf).collect(Collectors.joining(",")),
                    "--gid", Integer.toString(account.gid()),
                    "--uid", Integer.toString(account.uid()),
                    "--no-new-privs"));
        }
        wrapped.add("--");
        wrapped.addAll(command);
        return List.copyOf(wrapped);
    }

    /** The account of a user, for file ownership. */
    public Optional<UserAccount> account(Optional<String> user) {
        return root ? user.flatMap(users::find) : Optional.empty();
    }

    /** The real uid of this process, from {@code /proc/self/status}; -1 when unknown. */
    public static int currentUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
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
