package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.log.Log;
import ccc.core.log.Redactor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The output buffer's bounds, and how a workload's bytes become lines. */
class WorkloadOutputTest {

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    @AfterEach
    void restore() {
        Log.redirect(System.out);
    }

    private static WorkloadOutput.Line line(String text) {
        return new WorkloadOutput.Line(Instant.now(), WorkloadOutput.Stream.STDOUT, text);
    }

    @Test
    void theBufferKeepsAtMostItsCharactersOldestGoingFirst() {
        var output = new WorkloadOutput(2000, new Redactor());
        for (int i = 0; i < 3000; i++) {
            output.add(line(i + ":" + "x".repeat(8000)));
        }
        List<WorkloadOutput.Line> kept = output.tail(2000, null);
        long chars = kept.stream().mapToLong(l -> l.text().length()).sum();
        assertTrue(chars <= WorkloadOutput.MAX_BUFFERED_CHARS, chars + " characters kept");
        assertEquals(WorkloadOutput.MAX_BUFFERED_CHARS / 8005, kept.size());
        assertTrue(kept.getLast().text().startsWith("2999:"), "the newest line is kept");
    }

    @Test
    void theBufferKeepsAtMostItsLines() {
        var output = new WorkloadOutput(5, new Redactor());
        for (int i = 0; i < 12; i++) {
            output.add(line("line " + i));
        }
        assertEquals(List.of("line 7", "line 8", "line 9", "line 10", "line 11"),
                output.tail(100, null).stream().map(WorkloadOutput.Line::text).toList());
    }

    @Test
    void aCursorReadsInBatchesAndNotesLinesThatLeftTheBufferMeanwhile() {
        var output = new WorkloadOutput(100, new Redactor());
        for (int i = 0; i < 100; i++) {
            output.add(line("old " + i));
        }
        WorkloadOutput.Cursor cursor = output.cursor(50, null);
        List<WorkloadOutput.Line> first = cursor.next(10);
        assertEquals(List.of("old 50", "old 51"), first.stream().map(WorkloadOutput.Line::text).toList(), "about 10 characters, at least one line");
        assertFalse(cursor.missedLines());
        for (int i = 0; i < 80; i++) {
            output.add(line("new " + i));
        }
        List<WorkloadOutput.Line> rest = cursor.next(1_000_000);
        assertEquals("old 80", rest.getFirst().text(), "lines 52 to 79 left the buffer");
        assertEquals("old 99", rest.getLast().text(), "the tail ends where it was taken");
        assertTrue(cursor.missedLines());
        assertEquals(List.of(), cursor.next(100));
    }

    @Test
    void aCursorOverOneStreamSkipsTheOther() {
        var output = new WorkloadOutput(100, new Redactor());
        for (int i = 0; i < 10; i++) {
            output.add(new WorkloadOutput.Line(Instant.now(), i % 2 == 0 ? WorkloadOutput.Stream.STDOUT : WorkloadOutput.Stream.STDERR, "l" + i));
        }
        var cursor = output.cursor(3, WorkloadOutput.Stream.STDERR);
        assertEquals(List.of("l5", "l7", "l9"), cursor.next(1000).stream().map(WorkloadOutput.Line::text).toList());
    }

    private static List<String> texts(List<WorkloadOutput.Numbered> lines) {
        return lines.stream().map(numbered -> numbered.line().text()).toList();
    }

    @Test
    void aFollowerReadsTheTailThenEveryNewLineInOrderWaitingForThem() throws Exception {
        var output = new WorkloadOutput(1000, new Redactor());
        for (int i = 0; i < 10; i++) {
            output.add(line("old " + i));
        }
        var follower = output.follow(2, null);
        List<WorkloadOutput.Numbered> tail = follower.next(1000, Duration.ZERO);
        assertEquals(List.of("old 8", "old 9"), texts(tail));
        assertEquals(tail.getFirst().sequence() + 1, tail.getLast().sequence(), "lines are numbered in order");
        assertEquals(List.of(), follower.next(1000, Duration.ofMillis(50)), "nothing new: it waits, then answers empty");

        var printer = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < 500; i++) {
                output.add(line("new " + i));
                if (i % 50 == 0) {
                    // Pauses, so the follower catches up and waits.
                    TestSleep.millis(5);
                }
            }
        });
        var received = new java.util.ArrayList<WorkloadOutput.Numbered>();
        while (received.size() < 500) {
            received.addAll(follower.next(64, Duration.ofSeconds(10)));
        }
        printer.join();
        assertEquals(java.util.stream.IntStream.range(0, 500).mapToObj(i -> "new " + i).toList(), texts(received));
        for (int i = 1; i < received.size(); i++) {
            assertEquals(received.get(i - 1).sequence() + 1, received.get(i).sequence());
        }
        assertEquals(tail.getLast().sequence() + 1, received.getFirst().sequence());
    }

    @Test
    void aFollowerThatLetsLinesLeaveTheBufferHasFallenBehindAndThePumpNeverWaitsForIt() throws Exception {
        var output = new WorkloadOutput(100, new Redactor());
        var follower = output.follow(0, null);
        var waiting = Thread.ofVirtual().start(() -> {
            try {
                follower.next(10, Duration.ofSeconds(30));
            } catch (Exception e) {
                // It was woken.
            }
        });
        for (int i = 0; i < 100_000; i++) {
            output.add(line("flood " + i));
        }
        waiting.join(Duration.ofSeconds(10));
        var second = output.follow(0, null);
        for (int i = 0; i < 150; i++) {
            output.add(line("more " + i));
        }
        assertTrue(second.behind());
        var fell = org.junit.jupiter.api.Assertions.assertThrows(WorkloadOutput.FellBehind.class, () -> second.next(1000, Duration.ZERO));
        assertEquals(50, fell.lostLines());
    }

    @Test
    void aFollowerResumesAfterALineOrSaysHowManyItCouldNotRead() throws Exception {
        var output = new WorkloadOutput(10, new Redactor());
        for (int i = 0; i < 30; i++) {
            output.add(line("l" + i));
        }
        List<WorkloadOutput.Numbered> kept = output.follow(10, null).next(1000, Duration.ZERO);
        long l25 = kept.get(5).sequence();
        var resumed = output.followAfter(l25, null);
        assertEquals(0, resumed.skipped());
        assertEquals(List.of("l26", "l27", "l28", "l29"), texts(resumed.next(1000, Duration.ZERO)));

        var tooOld = output.followAfter(l25 - 10, null);
        assertEquals(4, tooOld.skipped(), "l16 to l19 left the buffer");
        assertEquals("l20", texts(tooOld.next(1000, Duration.ZERO)).getFirst());

        var otherRun = output.followAfter(kept.getLast().sequence() + 1_000, null);
        assertEquals(-1, otherRun.skipped());
        assertEquals("l20", texts(otherRun.next(1000, Duration.ZERO)).getFirst());
    }

    @Test
    void aLineOfAnEarlierRunOfTheCoreIsNoneOfThisRunsNotLinesThatLeftTheBuffer() throws Exception {
        // Line numbers start at the run's start time in microseconds: a line of an earlier run is a
        // number far below this run's first, and the lines between were never this run's to lose.
        var output = new WorkloadOutput(10, new Redactor());
        output.add(line("l0"));
        long l0 = output.follow(1, null).next(1000, Duration.ZERO).getFirst().sequence();
        long earlierRun = l0 - 60_000_000L;

        var beforeAnyLeft = output.followAfter(earlierRun, null);
        assertEquals(-1, beforeAnyLeft.skipped(), "no line of this run left the buffer, and the id is of another run");
        assertEquals("l0", texts(beforeAnyLeft.next(1000, Duration.ZERO)).getFirst());

        for (int i = 1; i < 30; i++) {
            output.add(line("l" + i));
        }
        var afterSomeLeft = output.followAfter(earlierRun, null);
        assertEquals(-1, afterSomeLeft.skipped(), "the id is of another run: how many of its lines were lost is unknown");
        assertEquals("l20", texts(afterSomeLeft.next(1000, Duration.ZERO)).getFirst());

        var thisRunsFirst = output.followAfter(l0, null);
        assertEquals(19, thisRunsFirst.skipped(), "l1 to l19 left the buffer");
    }

    @Test
    void wakingAFollowerEndsItsWaitAtOnce() throws Exception {
        var output = new WorkloadOutput(10, new Redactor());
        var follower = output.follow(0, null);
        var result = new java.util.concurrent.CompletableFuture<List<WorkloadOutput.Numbered>>();
        Thread.ofVirtual().start(() -> {
            try {
                result.complete(follower.next(100, Duration.ofMinutes(5)));
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        Thread.sleep(100);
        follower.wake();
        assertEquals(List.of(), result.get(10, java.util.concurrent.TimeUnit.SECONDS));
    }

    /** Sleeps in a lambda that may not throw. */
    private static final class TestSleep {
        static void millis(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private List<String> pumpLines(WorkloadOutput output, byte[] bytes) throws Exception {
        output.pump(new ByteArrayInputStream(bytes), WorkloadOutput.Stream.STDOUT, 1).get(30, java.util.concurrent.TimeUnit.SECONDS);
        return output.tail(2000, null).stream().map(WorkloadOutput.Line::text).toList();
    }

    @Test
    void aSecretAcrossTheLineLimitIsMaskedWhole() throws Exception {
        String secret = "s3cr3t-across-the-cut";
        for (int offset = 1; offset < secret.length(); offset++) {
            var redactor = new Redactor();
            redactor.learn(Map.of("password", secret));
            var output = new WorkloadOutput(2000, redactor);
            String before = "a".repeat(WorkloadOutput.MAX_LINE_BYTES - offset);
            String text = before + secret + "b".repeat(20_000);
            List<String> lines = pumpLines(output, (text + "\n").getBytes(StandardCharsets.UTF_8));
            assertTrue(lines.size() >= 3, lines.size() + " lines");
            assertTrue(lines.stream().allMatch(l -> l.getBytes(StandardCharsets.UTF_8).length <= WorkloadOutput.MAX_LINE_BYTES));
            assertTrue(lines.stream().noneMatch(l -> l.contains("s3cr3t") || l.contains("cut")), "offset " + offset + ": " + lines.get(0).substring(8000) + " | " + lines.get(1).substring(0, 40));
            assertEquals(before + Redactor.MASK + "b".repeat(20_000), String.join("", lines));
        }
    }

    @Test
    void aLongLineIsNeverCutInsideAUtf8Character() throws Exception {
        var output = new WorkloadOutput(2000, new Redactor());
        String text = "x" + "é€😀".repeat(3000);
        List<String> lines = pumpLines(output, (text + "\n").getBytes(StandardCharsets.UTF_8));
        assertTrue(lines.size() > 1);
        assertEquals(text, String.join("", lines));
        assertTrue(lines.stream().noneMatch(l -> l.contains("\uFFFD")));
    }

    @Test
    void aFloodIsLoggedWithinTheRateLimitAndKeptWholeInTheBuffer() throws Exception {
        Log.redirect(new PrintStream(logged, true, StandardCharsets.UTF_8));
        var output = new WorkloadOutput(2000, new Redactor());
        var flood = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            flood.append("flood line ").append(i).append('\n');
        }
        Instant began = Instant.now();
        List<String> lines = pumpLines(output, flood.toString().getBytes(StandardCharsets.UTF_8));
        double seconds = Duration.between(began, Instant.now()).toNanos() / 1e9;
        assertEquals("flood line 19999", lines.getLast());
        assertEquals(2000, lines.size());
        long loggedLines = logged.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("workload: flood line")).count();
        assertTrue(loggedLines <= WorkloadOutput.LOGGED_LINES_PER_SECOND * (1 + seconds) + 1,
                loggedLines + " lines logged in " + seconds + " s");
        Instant deadline = Instant.now().plus(WorkloadOutput.DROPPED_REPORT_EVERY).plusSeconds(5);
        while (!logged.toString(StandardCharsets.UTF_8).contains("was not logged") && Instant.now().isBefore(deadline)) {
            Thread.sleep(50);
        }
        String report = logged.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("was not logged")).findFirst().orElseThrow();
        assertTrue(report.contains("lines=" + (20_000 - loggedLines) + " "), report + " after " + loggedLines + " logged");
    }

    /**
     * More pumps blocked reading pipes nobody writes than the virtual-thread scheduler has
     * carriers at most (256): were they virtual threads, no other virtual thread (an HTTP request)
     * would run until the workload wrote.
     */
    @Test
    void pumpsBlockedOnSilentPipesLeaveVirtualThreadsRunning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        var fifo = dir.resolve("stdout");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var output = new WorkloadOutput(100, new Redactor());
        var pumps = new java.util.ArrayList<java.util.concurrent.CompletableFuture<Void>>();
        // The one writer, which never writes: each reader's open returns at once, and each read blocks.
        try (var writer = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
            for (int i = 0; i < 300; i++) {
                pumps.add(output.pump(new java.io.FileInputStream(fifo.toFile()), WorkloadOutput.Stream.STDOUT, i));
            }
            var ran = new java.util.concurrent.CountDownLatch(1);
            Thread.ofVirtual().start(ran::countDown);
            // Generous: a virtual thread starts in microseconds; with its carriers held it would never run.
            assertTrue(ran.await(5, java.util.concurrent.TimeUnit.SECONDS), "a virtual thread ran beside 300 blocked pumps");
        }
        // The writer closed: every read ends, and so does every pump.
        for (var pump : pumps) {
            pump.get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
