package ccc.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter's figures are asked for once a window, and callers that arrive during a call share
 * it; a call that never returns (an adapter blocked opening a FIFO its workload swapped in) holds
 * neither a carrier of the HTTP server nor the figures for ever.
 */
class AdapterFiguresTest {

    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private volatile CountDownLatch release = new CountDownLatch(0);

    /** An adapter that is asked only for its figures here. */
    private abstract static class FiguresOnly implements Adapter {
        @Override
        public Workload start(Payload payload, AdapterContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void stop() {
        }
    }

    private final Adapter adapter = new FiguresOnly() {
        @Override
        public Map<String, Object> metrics() {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Map.of("call", calls.incrementAndGet());
        }
    };

    private final AdapterFigures figures = new AdapterFigures(adapter, now::get, Optional::empty);

    @Test
    void aBurstOfRequestsAsksTheAdapterOncePerWindow() {
        for (int i = 0; i < 50; i++) {
            assertEquals(Map.of("call", 1), figures.metrics());
        }
        now.addAndGet(MetricsService.READINGS_FRESH_FOR.toNanos());
        assertEquals(Map.of("call", 2), figures.metrics());
        assertEquals(2, calls.get());
    }

    @Test
    void requestsDuringACallWaitForItInsteadOfFailing() throws Exception {
        release = new CountDownLatch(1);
        var answers = new ArrayList<Map<String, Object>>();
        var threads = new ArrayList<Thread>();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                Map<String, Object> answer = figures.metrics();
                synchronized (answers) {
                    answers.add(answer);
                }
            }));
        }
        Thread.sleep(50);
        release.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(8, answers.size());
        answers.forEach(answer -> assertEquals(Map.of("call", 1), answer));
        assertEquals(1, calls.get());
    }

    @TempDir
    Path dir;

    private final List<Path> fifos = new ArrayList<>();

    /** Every FIFO an adapter below blocks on, opened for writing: the blocked opens return and their threads end. */
    @AfterEach
    void releaseBlockedCalls() throws IOException {
        for (Path fifo : fifos) {
            release(fifo);
        }
    }

    private Path fifo(String name) throws Exception {
        Path fifo = dir.resolve(name);
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        fifos.add(fifo);
        return fifo;
    }

    /** Opens {@code fifo} for writing without waiting for a reader (O_RDWR), which lets a reader's blocked open return. */
    private static void release(Path fifo) throws IOException {
        try (var ignored = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
            // Opened and closed: a reader blocked in open(2) now returns and reads the end.
        }
    }

    /** An adapter whose metrics open the FIFO {@code path} names at the time of the call, as the example adapter opens its stats file. */
    private static Adapter readingFrom(AtomicReference<Path> path, Map<Thread, Boolean> callers) {
        return new FiguresOnly() {
            @Override
            public Map<String, Object> metrics() {
                callers.put(Thread.currentThread(), Boolean.TRUE);
                try (InputStream in = Files.newInputStream(path.get())) {
                    return Map.of("read", in.readAllBytes().length);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** Waits (10 s at most) until {@code count} calls run: a call's thread ends just after its answer. */
    private static void awaitRunning(AdapterFigures figures, int count) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(10);
        while (figures.running() != count && Instant.now().isBefore(deadline)) {
            Thread.sleep(10);
        }
    }

    @Test
    void aCallBlockedOnAFifoRunsOnAPlatformThreadAndIsAskedAgainOnceTheWorkloadStartsAgain() throws Exception {
        var path = new AtomicReference<>(fifo("stats"));
        var callers = new ConcurrentHashMap<Thread, Boolean>();
        var run = new AtomicReference<Optional<Instant>>(Optional.of(Instant.parse("2025-01-01T00:00:00Z")));
        var figures = new AdapterFigures(readingFrom(path, callers), now::get, run::get);

        assertEquals(Map.of("error", "adapter metrics timed out after 2 s"), figures.metrics());
        now.addAndGet(AdapterFigures.LIMIT.toNanos());
        assertEquals(1, callers.size());
        callers.keySet().forEach(thread -> assertFalse(thread.isVirtual(), "adapter code never runs on a virtual thread: " + thread));
        // The same workload: no second call while the first is stuck.
        assertTrue(String.valueOf(figures.metrics().get("error")).startsWith("adapter metrics still running after an earlier call timed out"));
        assertEquals(1, callers.size());

        // The workload is started again, and its stats file is a file again: the figures come back.
        path.set(Files.writeString(dir.resolve("stats.properties"), "sent=7\n"));
        run.set(Optional.of(Instant.parse("2025-01-01T00:01:00Z")));
        now.addAndGet(MetricsService.READINGS_FRESH_FOR.toNanos());
        assertEquals(Map.of("read", 7), figures.metrics());
        assertEquals(2, callers.size());
        awaitRunning(figures, 1);
        assertEquals(1, figures.running(), "the stuck call keeps its thread until it returns");
    }

    @Test
    void aCallGivenUpIsAskedAgainForTheSameWorkloadAfterTheRetryDelay() throws Exception {
        var path = new AtomicReference<>(fifo("stats"));
        var figures = new AdapterFigures(readingFrom(path, new ConcurrentHashMap<>()), now::get, Optional::empty);
        assertEquals(Map.of("error", "adapter metrics timed out after 2 s"), figures.metrics());
        path.set(Files.writeString(dir.resolve("stats.properties"), "sent=1\n"));
        now.addAndGet(AdapterFigures.RETRY_AFTER.toNanos() - 1);
        assertTrue(String.valueOf(figures.metrics().get("error")).startsWith("adapter metrics still running"));
        now.addAndGet(1);
        assertEquals(Map.of("read", 7), figures.metrics());
    }

    @Test
    void callsThatNeverReturnAreBoundedAndTheFiguresSayWhy() throws Exception {
        var path = new AtomicReference<>(fifo("stats"));
        var callers = new ConcurrentHashMap<Thread, Boolean>();
        var run = new AtomicReference<Optional<Instant>>(Optional.empty());
        var figures = new AdapterFigures(readingFrom(path, callers), now::get, run::get);
        for (int restart = 0; restart < AdapterFigures.MAX_RUNNING_CALLS; restart++) {
            run.set(Optional.of(Instant.ofEpochSecond(restart)));
            assertEquals(Map.of("error", "adapter metrics timed out after 2 s"), figures.metrics());
            now.addAndGet(AdapterFigures.LIMIT.toNanos());
        }
        run.set(Optional.of(Instant.ofEpochSecond(100)));
        String refused = String.valueOf(figures.metrics().get("error"));
        assertTrue(refused.startsWith("adapter metrics not asked: " + AdapterFigures.MAX_RUNNING_CALLS
                + " adapter calls for figures are still running"), refused);
        assertEquals(AdapterFigures.MAX_RUNNING_CALLS, callers.size());
        assertEquals(AdapterFigures.MAX_RUNNING_CALLS, figures.running());

        // Whoever writes to the FIFO frees every stuck call; the next request asks the adapter again.
        path.set(Files.writeString(dir.resolve("stats.properties"), "sent=1\n"));
        release(path.get().resolveSibling("stats"));
        awaitRunning(figures, 0);
        assertEquals(0, figures.running());
        assertEquals(Map.of("read", 7), figures.metrics());
    }
}
