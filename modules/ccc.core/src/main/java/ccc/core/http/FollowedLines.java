package ccc.core.http;

import ccc.core.events.FrameSource;
import ccc.core.events.Frames;
import ccc.core.events.Sse;
import ccc.core.json.Json;
import ccc.core.log.Timestamps;
import ccc.core.process.WorkloadOutput;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The frames of {@code /api/logs?follow=true}: the workload's lines as a {@link WorkloadOutput.Follower}
 * reads them, as Server-Sent Events ({@code event: line}, the line's number as its id) or as NDJSON
 * (one JSON object a line). The output buffer is the follower's buffer: a client that lets lines
 * leave it unread has fallen behind and is dropped with a last frame saying how many it lost.
 */
final class FollowedLines implements FrameSource {

    /** How the lines are written. */
    enum Format {
        /** Server-Sent Events. */
        SSE(Sse.CONTENT_TYPE, Sse.HEARTBEAT),
        /** Newline-delimited JSON; an empty line is the heartbeat. */
        NDJSON("application/x-ndjson", new byte[] {'\n'});

        final String contentType;
        final byte[] heartbeat;

        Format(String contentType, byte[] heartbeat) {
            this.contentType = contentType;
            this.heartbeat = heartbeat;
        }
    }

    private final WorkloadOutput.Follower follower;
    private final Format format;
    private final int batchChars;
    private final Runnable release;
    private List<byte[]> opening;
    private volatile boolean ended;
    private long lastSent = -1;

    /**
     * @param batchChars the text taken from the buffer at a time
     * @param release gives back the follower's place among the followers, once
     */
    FollowedLines(WorkloadOutput.Follower follower, Format format, int batchChars, Runnable release) {
        this.follower = follower;
        this.format = format;
        this.batchChars = batchChars;
        this.release = release;
        this.opening = follower.skipped() != 0 && format == Format.SSE ? List.of(missed(follower.skipped())) : List.of();
    }

    @Override
    public Frames next(Duration wait) throws InterruptedException {
        if (!opening.isEmpty()) {
            List<byte[]> frames = opening;
            opening = List.of();
            return Frames.of(frames);
        }
        List<WorkloadOutput.Numbered> lines;
        try {
            lines = follower.next(batchChars, wait);
        } catch (WorkloadOutput.FellBehind e) {
            return Frames.lastOne(dropped("the client fell behind: " + e.getMessage()));
        }
        if (lines.isEmpty()) {
            return ended ? Frames.END : Frames.NONE;
        }
        var batch = new ByteArrayOutputStream();
        for (WorkloadOutput.Numbered numbered : lines) {
            batch.writeBytes(frame(numbered));
            lastSent = numbered.sequence();
        }
        return Frames.of(List.of(batch.toByteArray()));
    }

    /** {@code {"timestamp": ..., "stream": ..., "line": ...}}, as the lines of {@code /api/logs}. */
    private byte[] frame(WorkloadOutput.Numbered numbered) {
        var line = new LinkedHashMap<String, Object>();
        line.put("timestamp", Timestamps.format(numbered.line().time()));
        line.put("stream", numbered.line().stream().wireName());
        line.put("line", numbered.line().text());
        return encode(numbered.sequence(), "line", line);
    }

    /** Why the stream ends; in NDJSON the one object with an {@code event} key, in SSE an event without an id. */
    private byte[] dropped(String reason) {
        var data = new LinkedHashMap<String, Object>();
        if (format == Format.NDJSON) {
            data.put("event", "dropped");
        }
        data.put("reason", reason);
        data.put("last_event_id", lastSent);
        data.put("timestamp", Timestamps.format(Instant.now()));
        return encode(-1, "dropped", data);
    }

    private byte[] missed(long skipped) {
        var data = new LinkedHashMap<String, Object>();
        data.put("lost_lines", skipped);
        data.put("reason", skipped < 0 ? "Last-Event-ID names no line of this run of the core; the stream resumes at the oldest line kept"
                : "lines after Last-Event-ID left the buffer; the stream resumes at the oldest line kept");
        data.put("timestamp", Timestamps.format(Instant.now()));
        return Sse.frame("missed", Json.write(data));
    }

    /** One frame: an SSE event (with {@code id} when it is not negative) or an NDJSON line. */
    private byte[] encode(long id, String event, Map<String, Object> data) {
        byte[] json = Json.write(data);
        if (format == Format.NDJSON) {
            byte[] line = new byte[json.length + 1];
            System.arraycopy(json, 0, line, 0, json.length);
            line[json.length] = '\n';
            return line;
        }
        return id >= 0 ? Sse.frame(id, event, json) : Sse.frame(event, json);
    }

    @Override
    public Optional<String> fellBehind() {
        return follower.behind() ? Optional.of("the client fell behind: lines left the output buffer before they were sent") : Optional.empty();
    }

    @Override
    public void end() {
        ended = true;
        follower.wake();
    }

    @Override
    public void close() {
        release.run();
    }
}
