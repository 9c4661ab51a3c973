package ccc.core.ctl;

import ccc.core.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The HTTP API of a running core, through the JDK's HTTP client, with the bearer token when there is one. */
final class CoreClient {

    /** How long connecting may take. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /**
     * How long a call that is not a stream may take, its answer's body included: an update waits
     * for the adapter, bounded by the core's own timeouts.
     */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
    /**
     * The longest answer to a call that is not a stream, in bytes: far more than the core sends
     * (its status, metrics and last log lines), so that only a broken server reaches it.
     */
    static final int MAX_ANSWER_BYTES = 16 * 1024 * 1024;
    /**
     * How long a stream's answer may take to begin (its headers): the core begins one at once,
     * and then it runs for as long as the user watches, so only its beginning is bounded.
     */
    static final Duration STREAM_BEGINS_WITHIN = Duration.ofSeconds(10);
    /**
     * How long a stream may bring nothing at all before it is given up: a core writes a heartbeat
     * into each stream it serves every second ({@code Streams.HEARTBEAT_EVERY}).
     */
    static final Duration STREAM_SILENT_AT_MOST = Duration.ofSeconds(20);

    /** The core answered with an error status: {@code detail} is its {@code {"detail": ...}}, or the start of whatever it sent. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        /** The status of a stream the core ended with a last event saying why (the client fell behind). */
        static final int STREAM_ENDED = 0;
        private final int status;

        Refused(int status, String detail) {
            super(detail, null, false, false);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    /** The core could not be reached, or the connection broke. */
    static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String message) {
            super(message, null, false, false);
        }
    }

    private final URI base;
    private final Optional<String> token;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();

    CoreClient(URI base, Optional<String> token) {
        this.base = base;
        this.token = token;
    }

    URI base() {
        return base;
    }

    /**
     * A call answered whole, within {@link #CALL_TIMEOUT} from asking to the answer's last byte:
     * its JSON body, or {@link Refused} with the core's detail. The JDK's own request timeout
     * ends when the headers arrive, so it is not what bounds the call.
     */
    String call(String method, String path, byte[] body) throws Refused, Unreachable {
        HttpRequest.Builder request = request(path);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        }
        CompletableFuture<HttpResponse<byte[]>> answer = http.sendAsync(request.build(), info -> new BoundedBody());
        HttpResponse<byte[]> response;
        try {
            response = answer.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true);
            throw new Unreachable("the core at " + base + " did not answer within " + CALL_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AnswerTooLong) {
                throw new Unreachable("the core at " + base + " sent an answer longer than " + MAX_ANSWER_BYTES + " bytes");
            }
            throw new Unreachable("cannot reach the core at " + base + ": "
                    + (e.getCause() instanceof IOException cause ? describe(cause) : String.valueOf(e.getCause())));
        } catch (InterruptedException e) {
            answer.cancel(true);
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted");
        }
        String text = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() >= 400) {
            throw refused(response.statusCode(), text);
        }
        return text;
    }

    /** A stream ({@code /api/events}, {@code /api/logs?follow=true}) asked for as {@code accept}: its body as it comes. */
    InputStream stream(String path, String accept) throws Refused, Unreachable {
        // The JDK's request timeout ends when the headers arrive, which is what bounds a stream.
        HttpRequest request = request(path).header("Accept", accept).timeout(STREAM_BEGINS_WITHIN).GET().build();
        HttpResponse<InputStream> response = send(request, HttpResponse.BodyHandlers.ofInputStream());
        InputStream stream = SilenceBound.over(response.body());
        if (response.statusCode() >= 400) {
            try (InputStream body = stream) {
                throw refused(response.statusCode(), new String(body.readNBytes(64 * 1024), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Refused(response.statusCode(), "(the answer could not be read: " + e.getMessage() + ")");
            }
        }
        return stream;
    }

    /**
     * A stream's body that fails its read once nothing has come for {@link #STREAM_SILENT_AT_MOST}:
     * a read of the JDK's stream waits for ever, and a server that sent its headers and then
     * nothing is no core. A virtual thread looks once a second.
     */
    private static final class SilenceBound extends FilterInputStream {
        private volatile long lastCame = System.nanoTime();
        private volatile Thread reading;
        private volatile boolean closed;
        private volatile boolean silent;

        private SilenceBound(InputStream in) {
            super(in);
        }

        static SilenceBound over(InputStream in) {
            var bound = new SilenceBound(in);
            Thread.ofVirtual().name("ctl-stream-silence").start(bound::watch);
            return bound;
        }

        private void watch() {
            try {
                while (!closed) {
                    Thread.sleep(Duration.ofSeconds(1));
                    if (System.nanoTime() - lastCame > STREAM_SILENT_AT_MOST.toNanos()) {
                        silent = true;
                        Thread reader = reading;
                        close();
                        if (reader != null) {
                            // The JDK's read waits in a queue that closing does not wake; an interrupt does.
                            reader.interrupt();
                        }
                        return;
                    }
                }
            } catch (InterruptedException | IOException e) {
                // Nothing more to watch.
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int read = read(one, 0, 1);
            return read < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            reading = Thread.currentThread();
            try {
                int read = in.read(bytes, offset, length);
                lastCame = System.nanoTime();
                return read;
            } catch (IOException e) {
                if (silent) {
                    throw new IOException("nothing came for " + STREAM_SILENT_AT_MOST.toSeconds() + " s (a core sends a heartbeat every second)");
                }
                throw e;
            } finally {
                reading = null;
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            in.close();
        }
    }

    /** An answer that grew past {@link #MAX_ANSWER_BYTES}. */
    private static final class AnswerTooLong extends IOException {
        private static final long serialVersionUID = 1L;

        AnswerTooLong() {
            super("the answer is longer than " + MAX_ANSWER_BYTES + " bytes", null);
        }
    }

    /** Collects an answer's body, and fails the call when it grows past {@link #MAX_ANSWER_BYTES}. */
    private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription given) {
            subscription = given;
            given.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            for (ByteBuffer buffer : buffers) {
                if (body.isDone()) {
                    return;
                }
                if (buffer.remaining() > MAX_ANSWER_BYTES - bytes.size()) {
                    subscription.cancel();
                    body.completeExceptionally(new AnswerTooLong());
                    return;
                }
                byte[] chunk = new byte[buffer.remaining()];
                buffer.get(chunk);
                bytes.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable error) {
            body.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            body.complete(bytes.toByteArray());
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path));
        token.ifPresent(value -> request.header("Authorization", "Bearer " + value));
        return request;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws Unreachable {
        try {
            return http.send(request, handler);
        } catch (java.net.http.HttpTimeoutException e) {
            throw new Unreachable("the core at " + base + " did not begin its answer within "
                    + request.timeout().map(Duration::toSeconds).orElse(0L) + " s");
        } catch (IOException e) {
            throw new Unreachable("cannot reach the core at " + base + ": " + describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted");
        }
    }

    static String describe(IOException e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            Throwable cause = e.getCause();
            message = cause != null && cause.getMessage() != null ? cause.getMessage() : e.getClass().getSimpleName();
        }
        return message;
    }

    /** The core's {@code detail}, or the start of a body that is not the core's JSON (a proxy's page, say). */
    private static Refused refused(int status, String body) {
        try {
            Object detail = Json.readObject(body.getBytes(StandardCharsets.UTF_8)).get("detail");
            if (detail != null) {
                return new Refused(status, detail.toString());
            }
        } catch (Json.InvalidJson e) {
            // Not the core's JSON.
        }
        String start = body.strip().lines().findFirst().orElse("");
        return new Refused(status, start.length() > 200 ? start.substring(0, 200) + "…" : start);
    }

    /** A JSON object answer, parsed. */
    static Map<String, Object> object(String json) throws Unreachable {
        try {
            return Json.readObject(json.getBytes(StandardCharsets.UTF_8));
        } catch (Json.InvalidJson e) {
            throw new Unreachable("the answer is not the core's JSON: " + e.problem());
        }
    }
}
