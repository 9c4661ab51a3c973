package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Looks accounts up in passwd and group files. Reads the files itself rather than calling NSS,
 * because a distroless image has {@code /etc/passwd} and {@code /etc/group} and nothing else.
 */
public final class UserDirectory {

    private final Path passwd;
    private final Path group;

    public UserDirectory(Path passwd, Path group) {
        this.passwd = passwd;
        this.group = group;
    }

    /** The system's accounts. */
    public static UserDirectory system() {
        return new UserDirectory(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    /** The account with this name, or with this numeric uid. */
    public Optional<UserAccount> find(String nameOrUid) {
        return lines(passwd).stream()
                .map(line -> line.split(":", -1))
                .filter(fields -> fields.length >= 6)
                .filter(fields -> fields[0].equals(nameOrUid) || fields[2].equals(nameOrUid))
                .findFirst()
                .flatMap(fields -> {
                    try {
                        int gid = Integer.parseInt(fields[3]);
                        return Optional.of(new UserAccount(fields[0], Integer.parseInt(fields[2]), gid, fields[5],
                                groupsOf(fields[0], gid)));
                    } catch (NumberFormatException e) {
                        return Optional.empty();
                    }
                });
    }

    private List<Integer> groupsOf(String user, int primary) {
        var groups = new TreeSet<Integer>();
        groups.add(primary);
        for (String line : lines(group)) {
            String[] fields = line.split(":", -1);
            if (fields.length >= 4 && Arrays.asList(fields[3].split(",")).contains(user)) {
                try {
                    groups.add(Integer.parseInt(fields[2]));
                } catch (NumberFormatException ignored) {
                    // A malformed line names no usable group.
                }
            }
        }
        return List.copyOf(groups);
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }
}
