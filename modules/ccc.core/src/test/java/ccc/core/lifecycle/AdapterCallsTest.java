package ccc.core.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapter code that blocks where no interrupt reaches it (opening a FIFO nobody writes) runs on a
 * platform thread, so it never holds a carrier of the HTTP server, and the threads such calls
 * keep are bounded.
 */
class AdapterCallsTest {

    private static final Duration SHORT = Duration.ofMillis(200);

    @TempDir
    Path dir;

    private Path fifo;

    /** Lets every open of the FIFO return, so the calls stuck in it end and their threads with them. */
    @AfterEach
    void releaseTheFifo() throws Exception {
        if (fifo != null) {
            try (var ignored = new RandomAccessFile(fifo.toFile(), "rw")) {
                // Opened for writing: the readers blocked in open(2) return.
            }
        }
    }

    private void openFifo() throws IOException {
        try (var in = Files.newInputStream(fifo)) {
            in.readAllBytes();
        }
    }

    @Test
    void aCallBlockedInTheKernelRunsOnAPlatformThreadAndTheThreadsLeftBehindAreBounded() throws Exception {
        fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var callers = ConcurrentHashMap.<Thread>newKeySet();
        for (int call = 0; call < AdapterCalls.MAX_RUNNING_CALLS; call++) {
            var timedOut = assertThrows(AdapterCallException.class, () -> AdapterCalls.run("stop", SHORT, () -> {
                callers.add(Thread.currentThread());
                openFifo();
            }));
            assertEquals("adapter stop timed out after 0.2 s", timedOut.getMessage());
        }
        assertEquals(AdapterCalls.MAX_RUNNING_CALLS, callers.size());
        callers.forEach(thread -> assertFalse(thread.isVirtual(), thread + " is virtual"));
        callers.forEach(thread -> assertTrue(thread.isAlive(), "an interrupt does not end a blocked open: " + thread));

        var refused = assertThrows(AdapterCallException.class, () -> AdapterCalls.run("update", SHORT, () -> callers.add(Thread.currentThread())));
        assertEquals(Failure.Kind.ADAPTER_TIMEOUT, refused.failure().kind());
        assertTrue(refused.getMessage().startsWith("adapter update not called: " + AdapterCalls.MAX_RUNNING_CALLS
                + " adapter lifecycle calls are still running"), refused.getMessage());
        assertEquals(AdapterCalls.MAX_RUNNING_CALLS, callers.size(), "the refused call's code never ran");

        releaseTheFifo();
        Instant deadline = Instant.now().plusSeconds(10);
        while (callers.stream().anyMatch(Thread::isAlive) && Instant.now().isBefore(deadline)) {
            Thread.sleep(10);
        }
        assertEquals("answered", AdapterCalls.call("update", SHORT, () -> "answered", ignored -> { }));
    }
}
