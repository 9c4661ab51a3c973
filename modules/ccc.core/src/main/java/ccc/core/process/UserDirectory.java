package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Looks accounts up in a passwd file. Reads the file itself rather than calling NSS, because a
 * distroless image has {@code /etc/passwd} and nothing else.
 */
public final class UserDirectory {

    private final Path passwd;

    public UserDirectory(Path passwd) {
        this.passwd = passwd;
    }

    /** The system's accounts. */
    public static UserDirectory system() {
        return new UserDirectory(Path.of("/etc/passwd"));
    }

    /** The account with this name, or with this numeric uid. */
    public Optional<UserAccount> find(String nameOrUid) {
        try (var lines = Files.lines(passwd)) {
            return lines
                    .map(line -> line.split(":", -1))
                    .filter(fields -> fields.length >= 6)
                    .filter(fields -> fields[0].equals(nameOrUid) || fields[2].equals(nameOrUid))
                    .map(fields -> new UserAccount(fields[0], Integer.parseInt(fields[2]), Integer.parseInt(fields[3]), fields[5]))
                    .findFirst();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
