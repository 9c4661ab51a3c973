package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Accounts come from the passwd and group files as they are at the lookup: the parsed files are
 * kept, but a file added to, written in place or replaced after a first lookup is read again.
 */
class UserDirectoryTest {

    @TempDir
    Path dir;
    private Path passwd;
    private Path group;
    private UserDirectory users;

    @BeforeEach
    void files() throws Exception {
        passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n");
        group = Files.writeString(dir.resolve("group"), "root:x:0:\nalice:x:1001:\nstaff:x:50:root\n");
        users = new UserDirectory(passwd, group);
    }

    @Test
    void findsAnAccountByNameOrUidWithItsGroups() {
        assertEquals(Optional.of(new UserAccount("alice", 1001, 1001, "/home/alice", List.of(1001L))), users.find("alice"));
        assertEquals(users.find("alice"), users.find("1001"));
        assertEquals(List.of(0L, 50L), users.find("root").orElseThrow().groups());
        assertTrue(users.find("nobody").isEmpty());
    }

    @Test
    void anAccountAddedAfterAFirstLookupIsSeen() throws Exception {
        assertTrue(users.find("bob").isEmpty());
        // As useradd does: a new file renamed over the old one.
        Path next = Files.writeString(dir.resolve("passwd.new"), Files.readString(passwd) + "bob:x:1002:1002::/home/bob:/bin/sh\n");
        Files.move(next, passwd, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertEquals(1002, users.find("bob").orElseThrow().uid());
    }

    @Test
    void anAccountAppendedInPlaceIsSeen() throws Exception {
        assertTrue(users.find("carol").isEmpty());
        Files.writeString(passwd, "carol:x:1003:1003::/home/carol:/bin/sh\n", java.nio.file.StandardOpenOption.APPEND);
        assertEquals(1003, users.find("carol").orElseThrow().uid());
    }

    @Test
    void anAccountChangedInPlaceToTheSameSizeIsSeenByItsModificationTime() throws Exception {
        FileTime before = Files.getLastModifiedTime(passwd);
        assertEquals(1001, users.find("alice").orElseThrow().uid());
        String changed = Files.readString(passwd).replace("alice:x:1001:1001", "alice:x:1009:1009");
        Files.writeString(passwd, changed);
        // Written within the same clock tick the time could be unchanged; an editor's write a tick later changes it.
        Files.setLastModifiedTime(passwd, FileTime.fromMillis(before.toMillis() + 1_000));
        assertEquals(1009, users.find("alice").orElseThrow().uid());
    }

    @Test
    void aFileReplacedByOneOfTheSameSizeAndTimeIsSeenByItsInode() throws Exception {
        assertEquals(1001, users.find("alice").orElseThrow().uid());
        FileTime before = Files.getLastModifiedTime(passwd);
        Path next = Files.writeString(dir.resolve("passwd.new"), Files.readString(passwd).replace("1001:1001", "1008:1008"));
        Files.setLastModifiedTime(next, before);
        // Only the inode tells the two apart.
        assertEquals(Files.size(passwd), Files.size(next));
        assertEquals(before, Files.getLastModifiedTime(next));
        assertNotEquals(Files.getAttribute(passwd, "unix:ino"), Files.getAttribute(next, "unix:ino"));
        Files.move(next, passwd, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertEquals(1008, users.find("alice").orElseThrow().uid());
    }

    @Test
    void aGroupMembershipAddedAfterAFirstLookupIsSeen() throws Exception {
        assertEquals(List.of(1001L), users.find("alice").orElseThrow().groups());
        Files.writeString(group, "wheel:x:10:alice\n", java.nio.file.StandardOpenOption.APPEND);
        assertEquals(List.of(10L, 1001L), users.find("alice").orElseThrow().groups());
    }

    @Test
    void aFileThatCannotBeReadHasNoAccountsAndIsReadAgainOnceItCan() throws Exception {
        Files.delete(passwd);
        assertTrue(users.find("alice").isEmpty());
        Files.writeString(passwd, "alice:x:1001:1001::/home/alice:/bin/sh\n");
        assertEquals(1001, users.find("alice").orElseThrow().uid());
    }
}
