package ccc.core.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the SDK's configuration file, and the files an attacker who can write its directory might put there. */
class SdkConfigFileTest {

    private static final int WORKLOAD_UID = 54321;

    @TempDir
    Path dir;

    private SdkConfigFile.Reading read(Path file) {
        return new SdkConfigFile(file, 1024).read();
    }

    private String refusal(Path file) {
        return assertInstanceOf(SdkConfigFile.Refused.class, read(file)).reason();
    }

    @Test
    void aJsonObjectIsThePayload() throws Exception {
        Path file = Files.writeString(dir.resolve("app.json"), "{\"flowfile\": \"flows.txt\", \"config\": {\"users\": 3}}");
        assertEquals(Map.of("flowfile", "flows.txt", "config", Map.of("users", 3)),
                assertInstanceOf(SdkConfigFile.Found.class, read(file)).payload());
    }

    @Test
    void noFileIsMissingAsTheSdkReadsIt() {
        assertInstanceOf(SdkConfigFile.Missing.class, read(dir.resolve("app.json")));
        assertInstanceOf(SdkConfigFile.Missing.class, read(dir.resolve("no-such-directory/app.json")));
    }

    @Test
    void whatIsNotOneJsonObjectIsRefusedWithoutQuotingTheFile() throws Exception {
        Path file = dir.resolve("app.json");
        Files.writeString(file, "{\"user\": \"admin\",\n \"password\": hunter2}");
        assertEquals(file + " is not valid JSON at line 2, column 14", refusal(file));
        Files.writeString(file, "[1, 2]");
        assertEquals(file + " must be a JSON object, got an array", refusal(file));
        Files.writeString(file, "");
        assertEquals(file + " must be a JSON object, got an empty body", refusal(file));
        Files.writeString(file, "{} {}");
        assertEquals(file + " must be a single JSON object, found more content after it", refusal(file));
        Files.writeString(file, "[".repeat(100));
        assertTrue(refusal(file).startsWith(file + " exceeds a JSON limit: "), refusal(file));
    }

    @Test
    void aFileOverTheLimitIsRefusedUnread() throws Exception {
        Path file = Files.writeString(dir.resolve("app.json"), "{\"k\": \"" + "x".repeat(2000) + "\"}");
        assertEquals(file + " is larger than the limit of 1024 bytes (server.max_body_bytes)", refusal(file));
    }

    /**
     * A directory the workload's user owns, as the config volume's may be: as root, it is handed
     * to an unprivileged uid (there need be no such account); otherwise it is already not root's.
     */
    private Path workloadsDirectory() throws Exception {
        Path owned = Files.createDirectory(dir.resolve("workload"));
        if ((Integer) Files.getAttribute(owned, "unix:uid") == 0) {
            Files.setAttribute(owned, "unix:uid", WORKLOAD_UID);
        }
        return owned;
    }

    /** What the workload's user does in its own directory: a link of its own. */
    private static Path workloadsLink(Path link, Path target) throws Exception {
        Files.createSymbolicLink(link, target);
        if ((Integer) Files.getAttribute(link, "unix:uid", LinkOption.NOFOLLOW_LINKS) == 0) {
            Files.setAttribute(link, "unix:uid", WORKLOAD_UID, LinkOption.NOFOLLOW_LINKS);
        }
        return link;
    }

    @Test
    void aSymbolicLinkToASecretIsNotFollowed() throws Exception {
        Path secret = Files.writeString(dir.resolve("shadow"), "root:$6$very-secret-hash:19000:0:99999:7:::\n");
        Path file = workloadsLink(workloadsDirectory().resolve("app.json"), secret);
        String reason = refusal(file);
        assertEquals(file + " cannot be read: '" + file + "' is a symbolic link in a directory a user other than root can change; "
                + "the core follows a link it reads through as root only where nobody but root can have made it", reason);
        assertFalse(reason.contains("very-secret"), reason);
    }

    @Test
    void aFifoOrADirectoryIsRefusedAtOnceRatherThanOpened() throws Exception {
        Path fifo = dir.resolve("app.json");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Instant began = Instant.now();
        assertEquals(fifo + " cannot be read: '" + fifo + "' is not a regular file", refusal(fifo));
        assertTrue(Duration.between(began, Instant.now()).compareTo(SdkConfigFile.READ_TIMEOUT) < 0, "no writer was waited for");
        assertEquals(dir + " cannot be read: '" + dir + "' is not a regular file", refusal(dir));
    }

    @Test
    void aConfigDirectorySwappedForALinkToARootOnlyDirectoryIsRefused() throws Exception {
        Path rootOnly = Files.createDirectory(dir.resolve("root-only"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(rootOnly.resolve("app.json"), "{\"db_password\": \"root-only-Secret-91\"}");
        // What a workload user who owns the parent of the config directory does: the directory goes, a link comes.
        Path config = workloadsLink(workloadsDirectory().resolve("config"), rootOnly);
        String reason = refusal(config.resolve("app.json"));
        assertEquals(config.resolve("app.json") + " cannot be read: '" + config + "' is a symbolic link in a directory a user other than root "
                + "can change; the core follows a link it reads through as root only where nobody but root can have made it", reason);
        assertFalse(reason.contains("root-only-Secret-91"), reason);
    }

    @Test
    void aFifoSwappedInAndOutWhileReadsHappenNeverHoldsARead() throws Exception {
        Path file = dir.resolve("app.json");
        Path regular = dir.resolve(".regular");
        Path fifo = dir.resolve(".fifo");
        var swapping = new java.util.concurrent.atomic.AtomicBoolean(true);
        var swaps = new java.util.concurrent.atomic.AtomicInteger();
        Thread swapper = Thread.ofPlatform().start(() -> {
            try {
                while (swapping.get()) {
                    Files.writeString(regular, "{\"users\": 3}");
                    Files.move(regular, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
                        Files.move(fifo, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    }
                    swaps.incrementAndGet();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        var config = new SdkConfigFile(file, 1024);
        var seen = new java.util.HashSet<Class<?>>();
        try {
            Instant end = Instant.now().plusSeconds(3);
            while (Instant.now().isBefore(end) || swaps.get() < 20) {
                Instant began = Instant.now();
                SdkConfigFile.Reading reading = config.read();
                // Generous: a read blocked on the FIFO would take the whole timeout and be refused for it.
                assertTrue(Duration.between(began, Instant.now()).compareTo(Duration.ofSeconds(2)) < 0, "a read took " + Duration.between(began, Instant.now()));
                switch (reading) {
                    case SdkConfigFile.Found found -> assertEquals(Map.of("users", 3), found.payload());
                    case SdkConfigFile.Refused refused -> assertEquals(file + " cannot be read: '" + file + "' is not a regular file", refused.reason());
                    case SdkConfigFile.Missing missing -> { }
                }
                seen.add(reading.getClass());
            }
        } finally {
            swapping.set(false);
            swapper.join();
        }
        assertTrue(seen.contains(SdkConfigFile.Found.class), "reads found the file between swaps: " + seen);
    }
}
