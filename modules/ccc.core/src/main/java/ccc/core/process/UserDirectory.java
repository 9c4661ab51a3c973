package ccc.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * Looks accounts up in passwd and group files. Reads the files itself rather than calling NSS,
 * because a distroless image has {@code /etc/passwd} and {@code /etc/group} and nothing else.
 *
 * <p>Each file is parsed once and kept, with its identity and modification (inode, size and
 * modification time, one {@code stat} each): a lookup, which every start makes twice (the
 * workload's environment and its command), reads and parses a file again only when it has
 * changed, so an account added or changed at run time is seen at the next lookup. One parsed copy
 * of each file is kept, no more.
 */
public final class UserDirectory {

    private final Path passwd;
    private final Path group;
    // Guarded by this.
    private Parsed<List<String[]>> accounts;
    private Parsed<List<GroupEntry>> groups;

    public UserDirectory(Path passwd, Path group) {
        this.passwd = passwd;
        this.group = group;
    }

    /** The system's accounts. */
    public static UserDirectory system() {
        return new UserDirectory(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    /** The account with this name, or with this numeric uid: the first line of the passwd file that has either. */
    public synchronized Optional<UserAccount> find(String nameOrUid) {
        accounts = current(accounts, passwd, UserDirectory::parseAccounts);
        for (String[] fields : accounts.content()) {
            if (fields[0].equals(nameOrUid) || fields[2].equals(nameOrUid)) {
                OptionalLong uid = UserAccount.parseId(fields[2]);
                OptionalLong gid = UserAccount.parseId(fields[3]);
                if (uid.isEmpty() || gid.isEmpty()) {
                    return Optional.empty();
                }
                return Optional.of(new UserAccount(fields[0], uid.getAsLong(), gid.getAsLong(), fields[5],
                        groupsOf(fields[0], gid.getAsLong())));
            }
        }
        return Optional.empty();
    }

    private List<Long> groupsOf(String user, long primary) {
        groups = current(groups, group, UserDirectory::parseGroups);
        var memberOf = new TreeSet<Long>();
        memberOf.add(primary);
        for (GroupEntry entry : groups.content()) {
            if (entry.members().contains(user)) {
                memberOf.add(entry.gid());
            }
        }
        return List.copyOf(memberOf);
    }

    /** The lines of a passwd file with the six fields an account needs, split. */
    private static List<String[]> parseAccounts(List<String> lines) {
        var accounts = new ArrayList<String[]>(lines.size());
        for (String line : lines) {
            String[] fields = line.split(":", -1);
            if (fields.length >= 6) {
                accounts.add(fields);
            }
        }
        return accounts;
    }

    /** The groups of a group file with a numeric id, and their members. */
    private static List<GroupEntry> parseGroups(List<String> lines) {
        var entries = new ArrayList<GroupEntry>(lines.size());
        for (String line : lines) {
            String[] fields = line.split(":", -1);
            OptionalLong gid = fields.length >= 4 ? UserAccount.parseId(fields[2]) : OptionalLong.empty();
            // A malformed line names no usable group.
            gid.ifPresent(id -> entries.add(new GroupEntry(id, List.of(fields[3].split(",")))));
        }
        return entries;
    }

    /** One group of the group file. */
    private record GroupEntry(long gid, List<String> members) {
    }

    /** A parsed file, with the identity and modification it had when it was read. */
    private record Parsed<T>(Object identity, T content) {
    }

    /** How a file's lines become what is kept of it. */
    @FunctionalInterface
    private interface Parser<T> {
        T parse(List<String> lines);
    }

    /**
     * {@code kept} if {@code file} is still the file it was parsed from, else the file read and
     * parsed again. Its identity is taken before it is read: a change made during the read then
     * shows at the next lookup, never hides.
     */
    private static <T> Parsed<T> current(Parsed<T> kept, Path file, Parser<T> parser) {
        Object identity = identity(file);
        if (kept != null && identity != null && identity.equals(kept.identity())) {
            return kept;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            lines = List.of();
        }
        return new Parsed<>(identity, parser.parse(lines));
    }

    /** The file's inode (with its device), size and modification time; null when it cannot be read, so nothing is kept for it. */
    private static Object identity(Path file) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return new FileIdentity(attributes.fileKey(), attributes.size(), attributes.lastModifiedTime());
        } catch (IOException e) {
            return null;
        }
    }

    /** What tells one version of a file from another: a file replaced (a new inode), grown or shrunk, or written to. */
    private record FileIdentity(Object key, long size, FileTime modified) {
    }
}
