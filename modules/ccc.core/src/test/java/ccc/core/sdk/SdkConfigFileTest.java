package ccc.core.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the SDK's configuration file, and the files an attacker who can write its directory might put there. */
class SdkConfigFileTest {

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

    @Test
    void aSymbolicLinkToASecretIsNotFollowed() throws Exception {
        Path secret = Files.writeString(dir.resolve("shadow"), "root:$6$very-secret-hash:19000:0:99999:7:::\n");
        Path file = Files.createSymbolicLink(dir.resolve("app.json"), secret);
        String reason = refusal(file);
        assertEquals(file + " is a symbolic link; the core reads the configuration only from a regular file at that path", reason);
        assertFalse(reason.contains("very-secret"), reason);
    }

    @Test
    void aFifoOrADirectoryIsRefusedAtOnceRatherThanOpened() throws Exception {
        Path fifo = dir.resolve("app.json");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Instant began = Instant.now();
        assertEquals(fifo + " is not a regular file", refusal(fifo));
        assertTrue(Duration.between(began, Instant.now()).compareTo(SdkConfigFile.READ_TIMEOUT) < 0, "no writer was waited for");
        assertEquals(dir + " is not a regular file", refusal(dir));
    }
}
