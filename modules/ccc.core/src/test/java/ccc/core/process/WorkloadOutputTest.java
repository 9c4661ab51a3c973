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

    private List<String> pumpLines(WorkloadOutput output, byte[] bytes) throws InterruptedException {
        output.pump(new ByteArrayInputStream(bytes), WorkloadOutput.Stream.STDOUT, 1).join(Duration.ofSeconds(30));
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
}
