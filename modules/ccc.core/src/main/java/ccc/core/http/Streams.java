package ccc.core.http;

import ccc.core.events.FrameSource;
import ccc.core.events.Frames;
import ccc.core.json.Json;
import ccc.core.log.BackgroundLoop;
import ccc.core.log.Log;
import com.sun.net.httpserver.HttpExchange;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Answers that go on for as long as the client stays ({@code /api/events},
 * {@code /api/logs?follow=true}), and long answers written as they are produced
 * ({@code /api/logs}). Each is written by its request's own virtual thread, from a
 * {@link FrameSource} or a {@link StreamedJson}, which nothing waits for; so a slow client slows
 * only its own answer.
 *
 * <p>The JDK's server tells a handler nothing when a client goes away; a write to the
 * connection fails only once the client's kernel has refused an earlier one. So a stream on which
 * nothing was written for {@link #HEARTBEAT_EVERY} gets a heartbeat (a comment line): proxies
 * keep the connection open, and a client that left is noticed within two heartbeats, when its
 * thread, buffer and place among the subscribers are freed.
 *
 * <p>A client that has fallen behind gets its source's last frame (why it is dropped) when it
 * reads on. One that reads nothing at all would hold its thread in a write for ever: a watchdog
 * closes its connection once it has been behind for {@link #DROP_GRACE} with a write still
 * pending, by interrupting its thread (which closes the channel the thread is blocked on).
 * The same watchdog closes the connection of a long answer one of whose writes has been pending
 * for {@link #WRITE_TIMEOUT}: its client has stopped reading, and would otherwise hold the
 * answer's thread and its place among the answers allowed at once for as long as it liked.
 */
public final class Streams implements AutoCloseable {

    /** An idle stream gets a heartbeat this often. */
    public static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(1);
    /** How long a client that has fallen behind may leave a write pending before its connection is closed. */
    public static final Duration DROP_GRACE = Duration.ofSeconds(5);
    /** How long one write of a long answer may stay pending (its client reading nothing) before its connection is closed. */
    public static final Duration WRITE_TIMEOUT = Duration.ofSeconds(10);
    /** How long a shutdown waits for streams to send what they hold and end. */
    public static final Duration END_WAIT = Duration.ofSeconds(2);

    private static final Log LOG = Log.named("http");
    private static final Duration WATCH_EVERY = Duration.ofSeconds(1);

    private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
    private final Set<WatchedWrites> answers = ConcurrentHashMap.newKeySet();
    private final Thread watchdog;

    public Streams() {
        var loop = new BackgroundLoop("stream watchdog");
        watchdog = Thread.ofVirtual().name("stream-watchdog").start(() -> loop.every(WATCH_EVERY, this::watch));
    }

    /**
     * An answer that streams {@code source} as {@code contentType}, with {@code heartbeat} as its
     * idle line. {@code name} names the writing thread while it streams (in thread dumps).
     */
    public StreamedAnswer answer(String name, String contentType, byte[] heartbeat, FrameSource source) {
        return exchange -> serve(exchange, name, contentType, heartbeat, source);
    }

    /**
     * An answer that writes {@code body} as JSON, chunked, as it is produced; {@code body} is
     * closed once the answer has ended, been cut off, or failed. A client that stops reading has
     * its connection closed once a write has been pending for {@link #WRITE_TIMEOUT}.
     */
    public StreamedAnswer json(StreamedJson body) {
        return exchange -> serveJson(exchange, body);
    }

    private void serveJson(HttpExchange exchange, StreamedJson body) throws IOException {
        try (body) {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            // As for streams: a kept-alive connection closed during its answer would count toward server.max_connections for ever.
            exchange.getResponseHeaders().set("Connection", "close");
            if (!Router.sendHeaders(exchange, 200, 0)) {
                return;
            }
            var writes = new WatchedWrites(Thread.currentThread(), exchange.getResponseBody());
            answers.add(writes);
            try (var json = Json.generator(writes)) {
                body.writeTo(json);
            } catch (IOException e) {
                // The client went away, or was cut off: nothing more to send.
            } catch (RuntimeException e) {
                LOG.error("streamed answer failed half-way", "path", exchange.getRequestURI().getPath(), "reason", Log.describe(e));
            } finally {
                answers.remove(writes);
                writes.finish();
                // An interruption by the watchdog is spent; the router goes on to close the exchange.
                Thread.interrupted();
            }
        }
    }

    /** How many streams are being written now. */
    public int active() {
        return streams.size();
    }

    private void serve(HttpExchange exchange, String name, String contentType, byte[] heartbeat, FrameSource source) throws IOException {
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", contentType);
        headers.set("Cache-Control", "no-cache");
        // nginx would otherwise hold the stream back in its buffers.
        headers.set("X-Accel-Buffering", "no");
        // A kept-alive connection whose channel was closed during its answer (as the watchdog
        // closes it) stays in the JDK server's count toward server.max_connections for ever: it
        // fails to re-register and is never removed. A connection marked to close is removed.
        headers.set("Connection", "close");
        Thread writer = Thread.currentThread();
        String threadName = writer.getName();
        var stream = new Stream(writer, source);
        streams.add(stream);
        try (source) {
            writer.setName(name);
            if (!Router.sendHeaders(exchange, 200, 0)) {
                return;
            }
            OutputStream body = exchange.getResponseBody();
            // The headers go out now, not with the first event.
            stream.write(body, List.of());
            while (true) {
                Frames frames = source.next(HEARTBEAT_EVERY);
                if (frames.frames().isEmpty() && !frames.last()) {
                    stream.write(body, List.of(heartbeat));
                } else {
                    stream.write(body, frames.frames());
                }
                if (frames.last()) {
                    break;
                }
            }
        } catch (IOException | InterruptedException e) {
            // The client went away, or was dropped: nothing more to send.
        } finally {
            stream.finish();
            streams.remove(stream);
            // An interruption by the watchdog is spent; the router goes on to close the exchange.
            Thread.interrupted();
            writer.setName(threadName);
        }
    }

    /** Checks every stream: one that has fallen behind and still cannot write after {@link #DROP_GRACE} loses its connection. */
    private void watch() {
        long now = System.nanoTime();
        for (Stream stream : streams) {
            stream.check(now);
        }
        for (WatchedWrites writes : answers) {
            writes.check(now);
        }
    }

    /** Ends every stream once it has sent what it holds, waiting up to {@code wait}: the core shuts down. */
    public void endAll(Duration wait) {
        streams.forEach(stream -> stream.source.end());
        long deadline = System.nanoTime() + wait.toNanos();
        while (!streams.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!streams.isEmpty()) {
            LOG.warn("streams still writing at shutdown are cut off", "streams", streams.size());
        }
    }

    @Override
    public void close() {
        watchdog.interrupt();
    }

    /** One stream being written: its thread, its source, and whether a write is pending. */
    private static final class Stream {
        private final Thread writer;
        private final FrameSource source;
        // Guarded by this: when the pending write began (0: none), when it was first seen behind (0: not), whether it has ended.
        private long writingSince;
        private long behindSince;
        private boolean finished;

        Stream(Thread writer, FrameSource source) {
            this.writer = writer;
            this.source = source;
        }

        void write(OutputStream body, List<byte[]> frames) throws IOException {
            synchronized (this) {
                writingSince = System.nanoTime();
            }
            try {
                for (byte[] frame : frames) {
                    body.write(frame);
                }
                body.flush();
            } finally {
                synchronized (this) {
                    writingSince = 0;
                }
            }
        }

        synchronized void check(long now) {
            if (finished || source.fellBehind().isEmpty()) {
                return;
            }
            if (behindSince == 0) {
                behindSince = now;
            } else if (writingSince != 0 && now - behindSince >= DROP_GRACE.toNanos()) {
                LOG.info("closing the connection of a stream whose client fell behind and reads nothing",
                        "stream", writer.getName(), "reason", source.fellBehind().orElse(""));
                finished = true;
                writer.interrupt();
            }
        }

        synchronized void finish() {
            finished = true;
        }
    }

    /** The body of a long answer, each write timed, so that the watchdog can see one that has been pending too long. */
    private static final class WatchedWrites extends FilterOutputStream {
        private final Thread writer;
        // Guarded by this: when the pending write began (0: none), and whether the answer has ended.
        private long writingSince;
        private boolean finished;

        WatchedWrites(Thread writer, OutputStream body) {
            super(body);
            this.writer = writer;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            began();
            try {
                out.write(bytes, offset, length);
            } finally {
                ended();
            }
        }

        @Override
        public void flush() throws IOException {
            began();
            try {
                out.flush();
            } finally {
                ended();
            }
        }

        private synchronized void began() {
            writingSince = System.nanoTime();
        }

        private synchronized void ended() {
            writingSince = 0;
        }

        synchronized void check(long now) {
            if (!finished && writingSince != 0 && now - writingSince >= WRITE_TIMEOUT.toNanos()) {
                LOG.info("closing the connection of an answer whose client reads nothing", "stream", writer.getName(),
                        "write_timeout_s", WRITE_TIMEOUT.toSeconds());
                finished = true;
                writer.interrupt();
            }
        }

        synchronized void finish() {
            finished = true;
        }
    }
}
