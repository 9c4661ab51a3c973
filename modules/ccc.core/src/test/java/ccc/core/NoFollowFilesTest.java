package ccc.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.NoFollowFiles;
import ccc.core.process.PrivilegeDrop;
import ccc.core.process.UserAccount;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing and reading without following links: what is written, where, what is read, and what is refused. */
class NoFollowFilesTest {

    private static final byte[] CONTENT = "{\"a\": 1}".getBytes(StandardCharsets.UTF_8);
    private static final UserAccount SOMEONE = new UserAccount("someone", 54321, 54322, "/", List.of(54322));

    @TempDir
    Path dir;

    private List<String> names(Path directory) throws IOException {
        try (var entries = Files.list(directory)) {
            return entries.map(entry -> entry.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAFileWithMode0600CreatingMissingDirectories() throws Exception {
        Path file = dir.resolve("a/b/payload.json");
        NoFollowFiles.write(file, CONTENT, Optional.empty());
        assertEquals("{\"a\": 1}", Files.readString(file));
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
        assertEquals(PosixFilePermissions.fromString("rwxr-xr-x"), Files.getPosixFilePermissions(dir.resolve("a/b")));
        assertEquals(List.of("payload.json"), names(dir.resolve("a/b")), "no temporary file is left");
    }

    @Test
    void replacesAnExistingFileAndWritesEmptyContent() throws Exception {
        Path file = Files.writeString(dir.resolve("payload.json"), "old and longer than the new content");
        NoFollowFiles.write(file, new byte[0], Optional.empty());
        assertEquals("", Files.readString(file));
        NoFollowFiles.write(file, CONTENT, Optional.empty());
        assertEquals("{\"a\": 1}", Files.readString(file));
    }

    @Test
    void aLinkAtTheFinalNameIsReplacedAndItsTargetIsUntouched() throws Exception {
        Path target = Files.writeString(dir.resolve("target"), "root's");
        Path file = Files.createSymbolicLink(dir.resolve("payload.json"), target);
        NoFollowFiles.write(file, CONTENT, Optional.empty());
        assertTrue(Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS));
        assertEquals("{\"a\": 1}", Files.readString(file));
        assertEquals("root's", Files.readString(target));
    }

    @Test
    void aLinkedDirectoryOnThePathIsRefusedByName() throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        Path run = Files.createSymbolicLink(Files.createDirectory(dir.resolve("app")).resolve("run"), elsewhere);
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.write(run.resolve("payload.json"), CONTENT, Optional.empty()));
        assertEquals("'" + run + "' is a symbolic link; the core does not follow links it writes through as root", refused.getMessage());
        assertEquals(List.of(), names(elsewhere));
        // A link higher up, whose target would lead to a missing directory, is refused the same way and creates nothing.
        var higher = assertThrows(IOException.class,
                () -> NoFollowFiles.write(run.resolve("deeper/payload.json"), CONTENT, Optional.empty()));
        assertTrue(higher.getMessage().startsWith("'" + run + "' is a symbolic link"), higher.getMessage());
        assertEquals(List.of(), names(elsewhere));
    }

    @Test
    void aLinkToAFileOnThePathAndAFileForADirectoryAreRefused() throws Exception {
        Path plain = Files.writeString(dir.resolve("plain"), "x");
        var notDirectory = assertThrows(IOException.class, () -> NoFollowFiles.write(plain.resolve("payload.json"), CONTENT, Optional.empty()));
        assertEquals("'" + plain + "' is not a directory", notDirectory.getMessage());
        Path link = Files.createSymbolicLink(dir.resolve("link"), plain);
        var linked = assertThrows(IOException.class, () -> NoFollowFiles.write(link.resolve("payload.json"), CONTENT, Optional.empty()));
        assertTrue(linked.getMessage().startsWith("'" + link + "' is a symbolic link"), linked.getMessage());
    }

    @Test
    void aDirectoryAtTheFinalNameIsRefusedAndNoTemporaryFileIsLeft() throws Exception {
        Path taken = Files.createDirectory(dir.resolve("payload.json"));
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.write(taken, CONTENT, Optional.empty()));
        assertTrue(refused.getMessage().startsWith("cannot replace '" + taken + "'"), refused.getMessage());
        assertEquals(List.of("payload.json"), names(dir));
    }

    @Test
    void theRootDirectoryIsNoFile() {
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.write(Path.of("/"), CONTENT, Optional.empty()));
        assertEquals("'/' names the root directory, not a file", refused.getMessage());
    }

    @Test
    void theOwnerIsSetThroughTheDescriptor() throws Exception {
        Requirements.require(PrivilegeDrop.currentUid() == 0, "handing a file to another user needs root");
        Path file = dir.resolve("payload.json");
        NoFollowFiles.write(file, CONTENT, Optional.of(SOMEONE));
        assertEquals(54321, Files.getAttribute(file, "unix:uid"));
        assertEquals(54322, Files.getAttribute(file, "unix:gid"));
    }

    @Test
    void aPrivateDirectoryIsNewMode0700AndItsOwners() throws Exception {
        Path made = dir.resolve("private");
        Optional<UserAccount> owner = PrivilegeDrop.currentUid() == 0 ? Optional.of(SOMEONE) : Optional.empty();
        NoFollowFiles.createPrivateDirectory(made, owner);
        assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(made, LinkOption.NOFOLLOW_LINKS));
        if (owner.isPresent()) {
            assertEquals(54321, Files.getAttribute(made, "unix:uid"));
        }
        assertThrows(FileAlreadyExistsException.class, () -> NoFollowFiles.createPrivateDirectory(made, owner));
        Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("elsewhere")));
        assertThrows(FileAlreadyExistsException.class, () -> NoFollowFiles.createPrivateDirectory(link, owner),
                "a link in its place is not taken for the directory");
        var under = assertThrows(IOException.class, () -> NoFollowFiles.createPrivateDirectory(link.resolve("private"), owner));
        assertTrue(under.getMessage().contains("is a symbolic link"), under.getMessage());
        assertEquals(List.of(), names(dir.resolve("elsewhere")));
    }

    @Test
    void readsARegularFileUpToTheLimit() throws Exception {
        Path file = Files.write(dir.resolve("app.json"), CONTENT);
        assertArrayEquals(CONTENT, NoFollowFiles.read(file, 1024));
        assertEquals("{\"a", new String(NoFollowFiles.read(file, 3), StandardCharsets.UTF_8));
        assertArrayEquals(new byte[0], NoFollowFiles.read(Files.write(dir.resolve("empty"), new byte[0]), 10));
    }

    @Test
    void aMissingFileOrDirectoryIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> NoFollowFiles.read(dir.resolve("app.json"), 10));
        assertThrows(NoSuchFileException.class, () -> NoFollowFiles.read(dir.resolve("gone/app.json"), 10));
    }

    @Test
    void aReadFollowsNoLinkAtTheFileNorAnywhereOnItsPath() throws Exception {
        Path secrets = Files.createDirectory(dir.resolve("root-only"));
        Files.writeString(secrets.resolve("app.json"), "{\"secret\": \"root's\"}");
        Path config = Files.createSymbolicLink(dir.resolve("config"), secrets);
        var linkedDirectory = assertThrows(IOException.class, () -> NoFollowFiles.read(config.resolve("app.json"), 1024));
        assertEquals("'" + config + "' is a symbolic link; the core does not follow links it reads through as root", linkedDirectory.getMessage());
        Path linkedFile = Files.createSymbolicLink(dir.resolve("app.json"), secrets.resolve("app.json"));
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(linkedFile, 1024));
        assertEquals("'" + linkedFile + "' is a symbolic link; the core does not follow links it reads through as root", refused.getMessage());
    }

    @Test
    void aFifoIsRefusedAtOnceWithoutWaitingForAWriter() throws Exception {
        Path fifo = dir.resolve("app.json");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Instant began = Instant.now();
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(fifo, 1024));
        assertEquals("'" + fifo + "' is not a regular file", refused.getMessage());
        // Generous: a blocking open would never return at all, as no writer ever comes.
        assertTrue(Duration.between(began, Instant.now()).toSeconds() < 5);
        var directory = assertThrows(IOException.class, () -> NoFollowFiles.read(dir, 1024));
        assertEquals("'" + dir + "' is not a regular file", directory.getMessage());
    }
}
