package ccc.core.process;

import ccc.core.log.BackgroundLoop;
import ccc.core.log.Log;
import ccc.core.log.RateLimit;
import ccc.core.log.Redactor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The workload's recent output: every line of stdout and stderr goes into a bounded ring buffer
 * served by {@code /api/logs}, and to the core's log, tagged with its stream, within a rate
 * limit. Streams are read continuously, so a workload that prints without pause never blocks
 * on a full pipe; a line reaches the buffer as soon as it is read, before it is logged.
 * {@link Follower}s read the lines as they arrive ({@code /api/logs?follow=true}): the pumps never
 * wait for them, and one that lets lines leave the buffer unread has fallen behind.
 *
 * <p>Everything here is bounded, since the workload is not trusted: a line by
 * {@link #MAX_LINE_BYTES} (a longer one is split, never through a known secret or a UTF-8
 * character), the buffer by its line capacity and by {@link #MAX_BUFFERED_CHARS} (the oldest
 * lines go first), and the log by {@link #LOGGED_LINES_PER_SECOND} and
 * {@link #LOGGED_CHARS_PER_SECOND}, with a line every {@link #DROPPED_REPORT_EVERY} counting
 * what was not logged.
 */
public final class WorkloadOutput {

    /** Which stream a line came from. */
    public enum Stream { STDOUT, STDERR;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One line of output. */
    public record Line(Instant time, Stream stream, String text) {
    }

    /** A line with its number: lines are numbered in the order they reach the buffer, both streams together. */
    public record Numbered(long sequence, Line line) {
    }

    /** A follower let lines it had not read leave the buffer. */
    public static final class FellBehind extends Exception {
        private static final long serialVersionUID = 1L;
        private final long lostLines;

        FellBehind(long lostLines) {
            super(lostLines + " lines left the buffer before they were read", null, false, false);
            this.lostLines = lostLines;
        }

        /** How many lines it missed. */
        public long lostLines() {
            return lostLines;
        }
    }

    /** The longest line, in bytes; a longer one is split into lines of at most this. */
    public static final int MAX_LINE_BYTES = 8 * 1024;
    /** The text the buffer keeps, in characters (4 MiB of ASCII); with long lines it keeps fewer lines than its capacity. */
    public static final int MAX_BUFFERED_CHARS = 4 * 1024 * 1024;
    /** Lines of output logged per second at most; the others are kept in the buffer but not logged. */
    public static final int LOGGED_LINES_PER_SECOND = 1000;
    /** Characters of output logged per second at most. */
    public static final int LOGGED_CHARS_PER_SECOND = 1024 * 1024;
    /** While output goes unlogged, one line this often says how much. */
    public static final Duration DROPPED_REPORT_EVERY = Duration.ofSeconds(5);

    private final Log log;

    private final int capacity;
    private final Redactor redactor;
    private final RateLimit logLimit = new RateLimit(LOGGED_LINES_PER_SECOND, LOGGED_CHARS_PER_SECOND);
    private final AtomicLong unloggedLines = new AtomicLong();
    private final AtomicLong unloggedChars = new AtomicLong();
    private final AtomicBoolean unloggedReportPending = new AtomicBoolean();

    // The ring: the line numbered n sits in slots[n % capacity] while first <= n < next. Numbers
    // start at the core's start time in microseconds, so they go on increasing across runs of the
    // core and a follower resuming after a line of an earlier run is never taken for one of this.
    private final Line[] slots;
    private final long firstOfThisRun;
    private long first;
    private long next;
    private long bufferedChars;
    // Followers waiting for the next line; the pumps wake them only when there are some.
    private int waitingFollowers;

    public WorkloadOutput(int capacity, Redactor redactor) {
        this.capacity = capacity;
        this.slots = new Line[capacity];
        this.redactor = redactor;
        this.log = Log.named("workload", redactor);
        this.firstOfThisRun = ccc.core.events.StreamIds.firstOfThisRun();
        this.first = firstOfThisRun;
        this.next = first;
    }

    public Redactor redactor() {
        return redactor;
    }

    /** How many lines the buffer keeps at most. */
    public int capacity() {
        return capacity;
    }

    /** The last {@code count} lines of the chosen streams (both when {@code only} is null), oldest first. */
    public synchronized List<Line> tail(int count, Stream only) {
        var selected = new ArrayList<Line>(Math.min(count, (int) (next - first)));
        for (long n = next - 1; n >= first && selected.size() < count; n--) {
            Line line = slot(n);
            if (only == null || line.stream() == only) {
                selected.add(line);
            }
        }
        return selected.reversed();
    }

    /** The last {@code count} lines of one stream, as text. */
    public List<String> tailText(int count, Stream stream) {
        return tail(count, stream).stream().map(Line::text).toList();
    }

    /**
     * A cursor over the last {@code count} lines of the chosen streams as they are now, read in
     * small batches: an answer streamed to a slow client holds a batch, not the whole tail.
     */
    public synchronized Cursor cursor(int count, Stream only) {
        return new Cursor(tailStart(count, only), next, only);
    }

    /** The number of the first of the last {@code count} lines of the chosen streams. */
    private long tailStart(int count, Stream only) {
        long start = next;
        int found = 0;
        for (long n = next - 1; n >= first && found < count; n--) {
            if (only == null || slot(n).stream() == only) {
                start = n;
                found++;
            }
        }
        return start;
    }

    /** A follower that reads the last {@code count} lines of the chosen streams (both when {@code only} is null), then every new one. */
    public synchronized Follower follow(int count, Stream only) {
        return new Follower(tailStart(count, only), only);
    }

    /**
     * A follower that reads the lines after the one numbered {@code sequence}, then every new one.
     * When some of them have left the buffer (or {@code sequence} is no line of this run), it starts
     * at the oldest line kept and {@link Follower#skipped} says how many it could not read.
     */
    public synchronized Follower followAfter(long sequence, Stream only) {
        if (sequence >= first - 1 && sequence < next) {
            return new Follower(sequence + 1, only);
        }
        var follower = new Follower(first, only);
        // Below this run's first line the numbers are an earlier run's: how many of its lines the client missed is unknown.
        boolean thisRuns = sequence >= firstOfThisRun - 1 && sequence < next;
        follower.skipped = thisRuns ? first - sequence - 1 : -1;
        return follower;
    }

    /**
     * Reads lines as they arrive, in order, from a starting line on. It never holds the pumps
     * up: when it lets lines leave the buffer before it reads them, it has fallen behind.
     */
    public final class Follower {
        private long position;
        private final Stream only;
        private boolean woken;
        private long skipped;

        private Follower(long position, Stream only) {
            this.position = position;
            this.only = only;
        }

        /**
         * The next lines, oldest first, about {@code maxChars} of text and at least one line,
         * waiting up to {@code wait} for one; empty when none came or {@link #wake} was called.
         *
         * @throws FellBehind when lines it had not read left the buffer
         */
        public List<Numbered> next(int maxChars, Duration wait) throws FellBehind, InterruptedException {
            synchronized (WorkloadOutput.this) {
                long deadline = System.nanoTime() + wait.toNanos();
                while (!woken) {
                    if (position < first) {
                        throw new FellBehind(first - position);
                    }
                    var batch = new ArrayList<Numbered>();
                    int chars = 0;
                    while (position < next && (batch.isEmpty() || chars < maxChars)) {
                        long number = position++;
                        Line line = slot(number);
                        if (only == null || line.stream() == only) {
                            batch.add(new Numbered(number, line));
                            chars += line.text().length();
                        }
                    }
                    long left = deadline - System.nanoTime();
                    if (!batch.isEmpty() || left <= 0) {
                        return batch;
                    }
                    waitingFollowers++;
                    try {
                        WorkloadOutput.this.wait(Math.max(1, left / 1_000_000));
                    } finally {
                        waitingFollowers--;
                    }
                }
                woken = false;
                return List.of();
            }
        }

        /** Whether lines it has not read have left the buffer: it has fallen behind. */
        public boolean behind() {
            synchronized (WorkloadOutput.this) {
                return position < first;
            }
        }

        /**
         * Lines it was asked to start after but could not read, as they had left the buffer; -1
         * when the line it was to start after is none of this run's; 0 when none were lost.
         */
        public long skipped() {
            return skipped;
        }

        /** Ends a wait in {@link #next} at once. */
        public void wake() {
            synchronized (WorkloadOutput.this) {
                woken = true;
                WorkloadOutput.this.notifyAll();
            }
        }
    }

    /** Reads a tail taken by {@link #cursor}; lines pushed out of the buffer meanwhile are skipped and noted. */
    public final class Cursor {
        private long position;
        private final long end;
        private final Stream only;
        private boolean missedLines;

        private Cursor(long position, long end, Stream only) {
            this.position = position;
            this.end = end;
            this.only = only;
        }

        /** The next lines, oldest first, about {@code maxChars} of text and at least one line; empty at the end. */
        public List<Line> next(int maxChars) {
            synchronized (WorkloadOutput.this) {
                if (position < first && position < end) {
                    missedLines = true;
                    position = Math.min(first, end);
                }
                var batch = new ArrayList<Line>();
                int chars = 0;
                while (position < end && (batch.isEmpty() || chars < maxChars)) {
                    Line line = slot(position++);
                    if (only == null || line.stream() == only) {
                        batch.add(line);
                        chars += line.text().length();
                    }
                }
                return batch;
            }
        }

        /** Whether lines of the tail left the buffer before they were read. */
        public boolean missedLines() {
            synchronized (WorkloadOutput.this) {
                return missedLines;
            }
        }
    }

    private Line slot(long number) {
        return slots[(int) (number % capacity)];
    }

    synchronized void add(Line line) {
        int length = line.text().length();
        while (next > first && (next - first == capacity || bufferedChars + length > MAX_BUFFERED_CHARS)) {
            bufferedChars -= slot(first).text().length();
            slots[(int) (first % capacity)] = null;
            first++;
        }
        slots[(int) (next % capacity)] = line;
        next++;
        bufferedChars += length;
        if (waitingFollowers > 0) {
            notifyAll();
        }
    }

    /**
     * Reads {@code in} to its end, line by line, on a platform thread ({@link WaitingThreads}).
     * Never a virtual thread: reading a pipe the workload holds blocks in the kernel for as long
     * as the workload likes, and on a virtual thread that holds a carrier the HTTP server needs.
     * Completes once the stream has ended and its last line is in.
     *
     * @throws IOException if no thread could be started to read it ({@link WaitingThreads})
     */
    CompletableFuture<Void> pump(InputStream in, Stream stream, long pid) throws IOException {
        return WaitingThreads.run("output-" + pid + "-" + stream.wireName(), "reading the workload's " + stream.wireName(),
                () -> read(in, stream, pid));
    }

    private void read(InputStream in, Stream stream, long pid) {
        var loop = new BackgroundLoop("output pump of " + pid + " " + stream.wireName());
        var lines = new LineSplitter(stream, pid);
        byte[] buffer = new byte[16 * 1024];
        try (in) {
            int read;
            while ((read = in.read(buffer)) >= 0) {
                int count = read;
                loop.iteration(() -> lines.accept(buffer, count));
            }
        } catch (IOException e) {
            // The process closed its end; whatever was read is kept.
        }
        loop.iteration(lines::finish);
    }

    /** Splits one stream's bytes into lines of at most {@link #MAX_LINE_BYTES}. */
    private final class LineSplitter {
        private final Stream stream;
        private final long pid;
        private final byte[] line = new byte[MAX_LINE_BYTES];
        private int length;

        LineSplitter(Stream stream, long pid) {
            this.stream = stream;
            this.pid = pid;
        }

        void accept(byte[] chunk, int count) {
            for (int i = 0; i < count; i++) {
                byte b = chunk[i];
                if (b == '\n') {
                    int whole = length;
                    length = 0;
                    emit(line, whole, true);
                    continue;
                }
                if (length == MAX_LINE_BYTES) {
                    overflow();
                }
                line[length++] = b;
            }
        }

        void finish() {
            if (length > 0) {
                int rest = length;
                length = 0;
                emit(line, rest, true);
            }
        }

        /** A full line: emits what can go now and keeps the rest as the start of the next. */
        private void overflow() {
            int cut = cutPoint(line, length, redactor);
            byte[] head = Arrays.copyOf(line, cut);
            System.arraycopy(line, cut, line, 0, length - cut);
            length -= cut;
            emit(head, cut, false);
        }

        private void emit(byte[] bytes, int count, boolean wholeLine) {
            int end = wholeLine && count > 0 && bytes[count - 1] == '\r' ? count - 1 : count;
            String text = redactor.redact(new String(bytes, 0, end, StandardCharsets.UTF_8));
            add(new Line(Instant.now(), stream, text));
            if (logLimit.tryTake(text.length())) {
                log.info(text, "stream", stream.wireName(), "pid", pid);
            } else {
                unlogged(text.length());
            }
        }
    }

    /**
     * Where a full line buffer is cut: before the last (longest secret − 1) bytes, so that a
     * secret running on into the next bytes is held back whole; moved back to the start of any
     * secret that would be split, and never inside a UTF-8 character. Secrets are bounded well
     * below half a line, so some text always goes.
     */
    static int cutPoint(byte[] bytes, int length, Redactor redactor) {
        int heldBack = Math.max(0, redactor.longestSecretBytes() - 1);
        int cut = characterBoundary(bytes, Math.max(0, length - heldBack));
        cut = redactor.cutBeforeSecret(bytes, length, cut);
        if (cut > 0) {
            return cut;
        }
        int whole = characterBoundary(bytes, length);
        return whole > 0 ? whole : length;
    }

    /** {@code at}, or the start of the UTF-8 character that {@code at} would split. */
    static int characterBoundary(byte[] bytes, int at) {
        int lead = at - 1;
        while (lead > 0 && at - lead < 4 && (bytes[lead] & 0xC0) == 0x80) {
            lead--;
        }
        if (lead < 0) {
            return at;
        }
        int b = bytes[lead] & 0xFF;
        int size = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        return lead + size > at ? lead : at;
    }

    private void unlogged(int chars) {
        unloggedLines.incrementAndGet();
        unloggedChars.addAndGet(chars);
        if (unloggedReportPending.compareAndSet(false, true)) {
            Thread.ofVirtual().name("output-log-limit").start(() -> {
                try {
                    Thread.sleep(DROPPED_REPORT_EVERY);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                unloggedReportPending.set(false);
                log.warn("workload output over the log's rate limit was not logged (it is in /api/logs)",
                        "lines", unloggedLines.getAndSet(0), "chars", unloggedChars.getAndSet(0),
                        "limit_lines_per_s", LOGGED_LINES_PER_SECOND, "limit_chars_per_s", LOGGED_CHARS_PER_SECOND);
            });
        }
    }
}
