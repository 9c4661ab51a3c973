package ccc.core.ctl;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;

/**
 * Reads a stream from the core ({@code /api/events}, {@code /api/logs?follow=true}) a line at a
 * time, as {@link java.io.BufferedReader#readLine} does (a line ends at a line feed, a carriage
 * return, or both), but refuses a line longer than {@link #MAX_LINE_CHARS}: a server that sends
 * one line that never ends must not run the client out of heap.
 */
final class BoundedLineReader implements AutoCloseable {

    /**
     * The longest line read, in characters. The core's longest are far shorter: an event's JSON
     * is at most {@code EventHub.MAX_EVENT_BYTES} (4 KiB), and a followed line of the workload's
     * output at most {@code WorkloadOutput.MAX_LINE_BYTES} (8 KiB), six characters a byte once
     * JSON escapes its control characters.
     */
    static final int MAX_LINE_CHARS = 256 * 1024;

    private final Reader reader;
    private final char[] buffer = new char[8192];
    private int position;
    private int limit;
    /** Whether the last line ended with a carriage return, so that a line feed next ends nothing more. */
    private boolean afterCarriageReturn;

    BoundedLineReader(InputStream in) {
        this.reader = new InputStreamReader(in, StandardCharsets.UTF_8);
    }

    /**
     * The next line without its ending, waiting for it; null when the stream has ended.
     *
     * @throws IOException when the stream breaks, or the line is longer than {@link #MAX_LINE_CHARS}
     */
    String readLine() throws IOException {
        var line = new StringBuilder();
        while (true) {
            if (position == limit) {
                int read = reader.read(buffer);
                if (read < 0) {
                    return line.isEmpty() ? null : line.toString();
                }
                position = 0;
                limit = read;
                continue;
            }
            if (afterCarriageReturn) {
                afterCarriageReturn = false;
                if (buffer[position] == '\n') {
                    position++;
                    continue;
                }
            }
            int start = position;
            while (position < limit && buffer[position] != '\n' && buffer[position] != '\r') {
                position++;
            }
            if (position - start > MAX_LINE_CHARS - line.length()) {
                throw new IOException("a line is longer than " + MAX_LINE_CHARS + " characters");
            }
            line.append(buffer, start, position - start);
            if (position < limit) {
                afterCarriageReturn = buffer[position] == '\r';
                position++;
                return line.toString();
            }
        }
    }

    /** Whether more of the stream is already here, so that printing may wait before it flushes. */
    boolean ready() throws IOException {
        if (afterCarriageReturn && position < limit && buffer[position] == '\n') {
            afterCarriageReturn = false;
            position++;
        }
        return position < limit || reader.ready();
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
