package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BackgroundLoopTest {

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    @AfterEach
    void restore() {
        Log.redirect(System.out);
    }

    @Test
    void aLoopWhoseIterationsThrowGoesOnLogsOnceAndSaysWhenItRecovers() throws Exception {
        Log.redirect(new PrintStream(logged, true, StandardCharsets.UTF_8));
        var iterations = new AtomicInteger();
        var loop = new BackgroundLoop("test loop");
        Thread thread = Thread.ofPlatform().start(() -> loop.every(Duration.ofMillis(1), () -> {
            int n = iterations.incrementAndGet();
            if (n <= 20) {
                throw new IllegalStateException("Too many open files (" + n + ")");
            }
            if (n == 30) {
                Thread.currentThread().interrupt();
            }
        }));
        thread.join(Duration.ofSeconds(10));
        assertFalse(thread.isAlive(), "the loop ends when interrupted");
        assertEquals(30, iterations.get(), "every iteration after a failing one ran");
        String log = logged.toString(StandardCharsets.UTF_8);
        assertEquals(1, log.lines().filter(line -> line.contains("background loop iteration failed")).count(), log);
        assertTrue(log.contains("loop=\"test loop\" error=IllegalStateException reason=\"Too many open files (1)\""), log);
        assertTrue(log.contains("background loop recovered loop=\"test loop\" failed_iterations=20"), log);
        assertEquals(0, loop.failuresInARow());
    }

    @Test
    void oneIterationReportsWhetherItCompleted() {
        var loop = new BackgroundLoop("single");
        assertTrue(loop.iteration(() -> { }));
        assertFalse(loop.iteration(() -> {
            throw new java.io.IOException("gone");
        }));
        assertEquals(1, loop.failuresInARow());
    }

    @Test
    void errorsOfTheVirtualMachineAreNotSwallowed() {
        var loop = new BackgroundLoop("fatal");
        assertThrows(OutOfMemoryError.class, () -> loop.iteration(() -> {
            throw new OutOfMemoryError("Java heap space");
        }));
    }

    @Test
    void anInterruptedIterationEndsTheLoop() throws Exception {
        var loop = new BackgroundLoop("interrupted");
        Thread thread = Thread.ofPlatform().start(() -> loop.every(Duration.ofMillis(1), () -> {
            throw new InterruptedException();
        }));
        thread.join(Duration.ofSeconds(10));
        assertFalse(thread.isAlive());
        assertEquals(0, loop.failuresInARow(), "an interruption is no failure");
    }
}
