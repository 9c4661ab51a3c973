package ccc.core.process;

import ccc.core.log.Log;
import ccc.core.log.Redactor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The workload's recent output: every line of stdout and stderr goes to the core's log, tagged
 * with its stream, and into a bounded ring buffer served by {@code /api/logs}. Streams are read
 * continuously, so a workload that prints without pause never blocks on a full pipe.
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

    static final int MAX_LINE_BYTES = 8 * 1024;
    private static final Log LOG = Log.named("workload");

    private final int capacity;
    private final ArrayDeque<Line> lines;
    private final Redactor redactor;

    public WorkloadOutput(int capacity, Redactor redactor) {
        this.capacity = capacity;
        this.lines = new ArrayDeque<>(Math.min(capacity, 1024));
        this.redactor = redactor;
    }

    public Redactor redactor() {
        return redactor;
    }

    public int capacity() {
        return capacity;
    }

    /** The last {@code count} lines of the chosen streams (both when {@code only} is null), oldest first. */
    public synchronized List<Line> tail(int count, Stream only) {
        var selected = new ArrayList<Line>(Math.min(count, lines.size()));
        var iterator = lines.descendingIterator();
        while (iterator.hasNext() && selected.size() < count) {
            Line line = iterator.next();
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

    synchronized void add(Line line) {
        if (lines.size() == capacity) {
            lines.removeFirst();
        }
        lines.addLast(line);
    }

    /** Starts a virtual thread that reads {@code in} to its end, line by line. */
    Thread pump(InputStream in, Stream stream, long pid) {
        return Thread.ofVirtual().name("output-" + pid + "-" + stream.wireName()).start(() -> read(in, stream, pid));
    }

    private void read(InputStream in, Stream stream, long pid) {
        byte[] buffer = new byte[16 * 1024];
        byte[] line = new byte[MAX_LINE_BYTES];
        int length = 0;
        try (in) {
            int read;
            while ((read = in.read(buffer)) >= 0) {
                for (int i = 0; i < read; i++) {
                    byte b = buffer[i];
                    if (b == '\n' || length == MAX_LINE_BYTES) {
                        emit(line, length, stream, pid);
                        length = 0;
                        if (b == '\n') {
                            continue;
                        }
                    }
                    line[length++] = b;
                }
            }
        } catch (IOException e) {
            // The process closed its end; whatever was read is kept.
        }
        if (length > 0) {
            emit(line, length, stream, pid);
        }
    }

    private void emit(byte[] bytes, int length, Stream stream, long pid) {
        int end = length > 0 && bytes[length - 1] == '\r' ? length - 1 : length;
        String text = redactor.redact(new String(bytes, 0, end, StandardCharsets.UTF_8));
        add(new Line(Instant.now(), stream, text));
        LOG.info(text, "stream", stream.wireName(), "pid", pid);
    }
}
