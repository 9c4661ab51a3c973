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
    private static final UserAccount SOMEONE = new UserAccount("someone", 54321, 54322, "/", List.of(54322L));

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
    void aReadFollowsNoLinkAtTheFileNorAnywhereOnItsPathInADirectoryOthersMayWrite() throws Exception {
        Path secrets = Files.createDirectory(dir.resolve("root-only"));
        Files.writeString(secrets.resolve("app.json"), "{\"secret\": \"root's\"}");
        Path shared = Files.setPosixFilePermissions(Files.createDirectory(dir.resolve("shared")), PosixFilePermissions.fromString("rwxrwxrwx"));
        Path config = Files.createSymbolicLink(shared.resolve("config"), secrets);
        var linkedDirectory = assertThrows(IOException.class, () -> NoFollowFiles.read(config.resolve("app.json"), 1024));
        assertEquals("'" + config + "' is a symbolic link in a directory a user other than root can change; "
                + "the core follows a link it reads through as root only where nobody but root can have made it", linkedDirectory.getMessage());
        Path linkedFile = Files.createSymbolicLink(shared.resolve("app.json"), secrets.resolve("app.json"));
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(linkedFile, 1024));
        assertTrue(refused.getMessage().startsWith("'" + linkedFile + "' is a symbolic link in a directory a user other than root"),
                refused.getMessage());
    }

    /** A directory laid out as Kubernetes lays out a ConfigMap volume: each file a link through {@code ..data} to a dated directory. */
    private static Path configMapVolume(Path volume) throws IOException {
        Files.setPosixFilePermissions(Files.createDirectory(volume), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dated = Files.createDirectory(volume.resolve("..2026_11_29_09_00_00.123456789"));
        Files.write(dated.resolve("app.json"), CONTENT);
        Files.createSymbolicLink(volume.resolve("..data"), dated.getFileName());
        return Files.createSymbolicLink(volume.resolve("app.json"), Path.of("..data/app.json"));
    }

    private static void requireRoot() {
        Requirements.require(PrivilegeDrop.currentUid() == 0, "links only root can have made need root to make them");
    }

    @Test
    void aConfigMapVolumeOnlyRootCanWriteIsReadThroughItsLinks() throws Exception {
        requireRoot();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path file = configMapVolume(dir.resolve("config"));
        assertArrayEquals(CONTENT, NoFollowFiles.read(file, 1024));
        // An absolute target starts again from /, and a link to the volume's directory is followed on the way.
        Path absolute = Files.createSymbolicLink(dir.resolve("absolute.json"), file);
        assertArrayEquals(CONTENT, NoFollowFiles.read(absolute, 1024));
        Path linkedVolume = Files.createSymbolicLink(dir.resolve("mounted"), Path.of("config/..data"));
        assertArrayEquals(CONTENT, NoFollowFiles.read(linkedVolume.resolve("app.json"), 1024));
        // ".." in a target is the parent of the directory the link leads into, as the kernel resolves it.
        Files.createSymbolicLink(dir.resolve("config/..parent"), Path.of("..data/../app.json"));
        assertArrayEquals(CONTENT, NoFollowFiles.read(dir.resolve("config/..parent"), 1024));
        var notAFile = assertThrows(IOException.class, () -> NoFollowFiles.read(dir.resolve("config/..data"), 1024));
        assertEquals("'" + dir.resolve("config/..data") + "' is not a regular file", notAFile.getMessage());
        var missing = assertThrows(NoSuchFileException.class, () -> NoFollowFiles.read(linkedVolume.resolve("gone.json"), 1024));
        assertEquals(linkedVolume.resolve("gone.json").toString(), missing.getMessage());
    }

    @Test
    void theSameLinksWhereAnotherUserOrEveryoneMayWriteAreRefused() throws Exception {
        requireRoot();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path owned = configMapVolume(dir.resolve("owned"));
        Files.setAttribute(owned.getParent(), "unix:uid", (int) SOMEONE.uid());
        Path open = configMapVolume(dir.resolve("open"));
        Files.setPosixFilePermissions(open.getParent(), PosixFilePermissions.fromString("rwxrwxrwx"));
        Path sticky = configMapVolume(dir.resolve("sticky"));
        Files.setAttribute(sticky.getParent(), "unix:mode", 01777);
        Path groupWritable = configMapVolume(dir.resolve("group"));
        Files.setPosixFilePermissions(groupWritable.getParent(), PosixFilePermissions.fromString("rwxrwxr-x"));
        for (Path file : List.of(owned, open, sticky, groupWritable)) {
            var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(file, 1024));
            assertEquals("'" + file + "' is a symbolic link in a directory a user other than root can change; "
                    + "the core follows a link it reads through as root only where nobody but root can have made it", refused.getMessage());
        }
        assertEquals(01777, (Integer) Files.getAttribute(sticky.getParent(), "unix:mode") & 07777, "the sticky bit was set");
    }

    @Test
    void aLinkAnotherUserOwnsInARootOnlyDirectoryIsRefused() throws Exception {
        requireRoot();
        Path file = configMapVolume(dir.resolve("config"));
        Files.setAttribute(file.resolveSibling("..data"), "unix:uid", (int) SOMEONE.uid(), LinkOption.NOFOLLOW_LINKS);
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(file, 1024));
        assertEquals("'" + file.resolveSibling("..data") + "' is a symbolic link owned by uid " + SOMEONE.uid()
                + "; the core follows a link it reads through as root only where nobody but root can have made it", refused.getMessage());
    }

    @Test
    void atMostMaxLinksFollowedLinksAreFollowedSoALoopEnds() throws Exception {
        requireRoot();
        Path real = Files.write(dir.resolve("app.json"), CONTENT);
        Path chain = real;
        for (int link = 1; link <= NoFollowFiles.MAX_LINKS_FOLLOWED; link++) {
            chain = Files.createSymbolicLink(dir.resolve("link" + link), chain.getFileName());
        }
        assertArrayEquals(CONTENT, NoFollowFiles.read(chain, 1024), "a chain of exactly the bound is read");
        Path oneTooMany = Files.createSymbolicLink(dir.resolve("link0"), chain.getFileName());
        var tooMany = assertThrows(IOException.class, () -> NoFollowFiles.read(oneTooMany, 1024));
        // The 17th link on the way is the chain's last, link1.
        assertEquals("'" + dir.resolve("link1") + "' is a symbolic link past the 16 (MAX_LINKS_FOLLOWED) the core follows in one path it reads as root; "
                + "links in a loop never end", tooMany.getMessage());
        Files.createSymbolicLink(dir.resolve("loop-a"), Path.of("loop-b"));
        Files.createSymbolicLink(dir.resolve("loop-b"), Path.of("loop-a"));
        var loop = assertThrows(IOException.class, () -> NoFollowFiles.read(dir.resolve("loop-a/app.json"), 1024));
        assertTrue(loop.getMessage().contains("is a symbolic link past the 16 (MAX_LINKS_FOLLOWED)"), loop.getMessage());
    }

    @Test
    void aWorkloadSwappingItsConfigDirectoryForALinkToARootOnlyOneIsRefused() throws Exception {
        try (TestUser user = TestUser.create()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path rootOnly = Files.createDirectory(dir.resolve("root-only"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.writeString(rootOnly.resolve("app.json"), "{\"db_password\": \"root-only-Secret-91\"}");
            Path app = Files.createDirectory(dir.resolve("app"));
            user.own(app);
            Path config = app.resolve("config");
            user.run(List.of("sh", "-c", "mkdir " + config + " && printf '{}' > " + config.resolve("app.json")));
            assertEquals("{}", new String(NoFollowFiles.read(config.resolve("app.json"), 1024), StandardCharsets.UTF_8));

            user.run(List.of("sh", "-c", "cd " + app + " && rm -rf config && ln -s " + rootOnly + " config"));
            var refused = assertThrows(IOException.class, () -> NoFollowFiles.read(config.resolve("app.json"), 1024));
            assertEquals("'" + config + "' is a symbolic link in a directory a user other than root can change; "
                    + "the core follows a link it reads through as root only where nobody but root can have made it", refused.getMessage());
        }
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

    @Test
    void aWorkloadDirectoryIsRemovedWithoutFollowingTheLinksItsWorkloadLeftInIt() throws Exception {
        Path kept = Files.createDirectory(dir.resolve("kept"));
        Path keptFile = Files.writeString(kept.resolve("secret.properties"), "sent=1\n");
        Path workload = Files.createDirectory(dir.resolve("ccc-workload-1"));
        Files.writeString(workload.resolve("flow-stats.properties"), "sent=7\n");
        Path nested = Files.createDirectories(workload.resolve("a/b/c"));
        Files.writeString(nested.resolve("deep"), "x");
        Files.createSymbolicLink(workload.resolve("to-dir"), kept);
        Files.createSymbolicLink(nested.resolve("to-file"), keptFile);

        NoFollowFiles.removeTree(workload);

        assertTrue(Files.notExists(workload, LinkOption.NOFOLLOW_LINKS), "the directory is gone");
        assertEquals("sent=1\n", Files.readString(keptFile), "what its links named is untouched");
        assertEquals(List.of("secret.properties"), names(kept));
    }

    @Test
    void aWorkloadDirectorySwappedForALinkIsRemovedAsALinkNotFollowed() throws Exception {
        Path kept = Files.createDirectory(dir.resolve("kept"));
        Files.writeString(kept.resolve("secret.properties"), "sent=1\n");
        Path workload = Files.createSymbolicLink(dir.resolve("ccc-workload-2"), kept);

        NoFollowFiles.removeTree(workload);

        assertTrue(Files.notExists(workload, LinkOption.NOFOLLOW_LINKS), "the link is gone");
        assertEquals(List.of("secret.properties"), names(kept), "the directory it named is untouched");
    }

    @Test
    void aTreeDeeperThanTheBoundIsLeftAndSaidSo() throws Exception {
        Path workload = Files.createDirectory(dir.resolve("ccc-workload-3"));
        Path deepest = workload;
        for (int i = 0; i <= NoFollowFiles.MAX_REMOVE_DEPTH; i++) {
            deepest = Files.createDirectory(deepest.resolve("d"));
        }
        var refused = assertThrows(IOException.class, () -> NoFollowFiles.removeTree(workload));
        assertTrue(refused.getMessage().contains("MAX_REMOVE_DEPTH"), refused.getMessage());
    }
}
