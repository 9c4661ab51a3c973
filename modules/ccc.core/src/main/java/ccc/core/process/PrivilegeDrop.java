package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Wraps a command so that it runs as another user: that user's uid, primary gid and
 * supplementary groups, no new privileges, no capabilities. Used only when the core runs as
 * root and {@code run_as_user} is set.
 */
public final class PrivilegeDrop {

    private final UserDirectory users;
    private final Optional<Path> setpriv;
    private final boolean root;

    public PrivilegeDrop(UserDirectory users, Optional<Path> setpriv, boolean root) {
        this.users = users;
        this.setpriv = setpriv;
        this.root = root;
    }

    /** For this process: root or not, and the {@code setpriv} found on {@code PATH}. */
    public static PrivilegeDrop system() {
        return new PrivilegeDrop(UserDirectory.system(), findOnPath("setpriv"), currentUid() == 0);
    }

    /** Whether the core runs as root, so that privileges can be dropped at all. */
    public boolean runningAsRoot() {
        return root;
    }

    /**
     * Returns {@code command} unchanged when {@code user} is empty or the core is not root;
     * otherwise the command that runs it as {@code user}.
     *
     * @throws IllegalStateException if the user is unknown or no way to drop privileges exists
     */
    public List<String> wrap(List<String> command, Optional<String> user) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        if (user.isEmpty() || !root) {
            return List.copyOf(command);
        }
        UserAccount account = users.find(user.get())
                .orElseThrow(() -> new IllegalStateException("run_as_user '" + user.get() + "' does not exist"));
        Path tool = setpriv.orElseThrow(() -> new IllegalStateException(
                "cannot run as '" + account.name() + "': setpriv is not installed"));
        var wrapped = new ArrayList<String>(command.size() + 8);
        wrapped.add(tool.toString());
        wrapped.add("--reuid=" + account.uid());
        wrapped.add("--regid=" + account.gid());
        wrapped.add("--init-groups");
        wrapped.add("--no-new-privs");
        wrapped.add("--inh-caps=-all");
        wrapped.add("--");
        wrapped.addAll(command);
        return List.copyOf(wrapped);
    }

    /** The user's home directory and names for the environment of a dropped command. */
    public Optional<UserAccount> account(Optional<String> user) {
        return user.flatMap(users::find);
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

    static Optional<Path> findOnPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
