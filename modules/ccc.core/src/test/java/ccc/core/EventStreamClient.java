package ccc.core;

import ccc.core.ctl.ServerSentEvents;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A real event-stream client: the JDK's HTTP client reading a stream of the core on a thread of its own. */
final class EventStreamClient implements AutoCloseable {

    /** One event as received. */
    record Received(String id, String type, Map<String, Object> data) {
        long idNumber() {
            return Long.parseLong(id);
        }

        Object get(String field) {
            return data.get(field);
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final Received END = new Received(null, "end of stream", Map.of());

    final HttpResponse<InputStream> response;
    private final BlockingQueue<Received> events = new LinkedBlockingQueue<>();
    private final List<Received> all = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final String errorBody;

    private EventStreamClient(HttpResponse<InputStream> response) throws IOException {
        this.response = response;
        if (response.statusCode() != 200) {
            try (InputStream body = response.body()) {
                errorBody = new String(body.readAllBytes(), StandardCharsets.UTF_8);
            }
            return;
        }
        errorBody = null;
        Thread.ofVirtual().name("event-stream-client").start(this::read);
    }

    /** Opens {@code path} of the core on {@code port}, with {@code headers}. */
    static EventStreamClient open(int port, String path, String... headers) {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
        if (headers.length > 0) {
            request.headers(headers);
        }
        try {
            return new EventStreamClient(HTTP.send(request.build(), HttpResponse.BodyHandlers.ofInputStream()));
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("GET " + path + " failed", e);
        }
    }

    private void read() {
        try (var stream = new ServerSentEvents(response.body())) {
            for (var next = stream.next(); next.isPresent(); next = stream.next()) {
                var event = next.get();
                var received = new Received(event.id(), event.type(), JSON.std.mapFrom(event.data()));
                all.add(received);
                events.add(received);
            }
        } catch (IOException e) {
            // Closed by the test, or by the core.
        }
        events.add(END);
    }

    int status() {
        return response.statusCode();
    }

    /** The error answer's {@code detail}. */
    Object detail() {
        try {
            return JSON.std.mapFrom(errorBody).get("detail");
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + errorBody, e);
        }
    }

    /** The next event; fails after {@code timeout}, or at the end of the stream. */
    Received next(Duration timeout) {
        try {
            Received event = events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (event == null) {
                throw new AssertionError("no event within " + timeout + "; received so far: " + all);
            }
            if (event == END) {
                events.add(END);
                throw new AssertionError("the stream ended; received: " + all);
            }
            return event;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** Events up to and including the first that satisfies {@code last}. */
    List<Received> until(Predicate<Received> last, Duration timeout) {
        var received = new ArrayList<Received>();
        long deadline = System.nanoTime() + timeout.toNanos();
        Received event;
        do {
            event = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            received.add(event);
        } while (!last.test(event));
        return received;
    }

    /** Whether the core ended the stream, waiting up to {@code timeout} for it. */
    boolean ended(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < deadline) {
                Received event = events.poll(10, TimeUnit.MILLISECONDS);
                if (event == END) {
                    events.add(END);
                    return true;
                }
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return false;
    }

    /** Every event received so far. */
    List<Received> received() {
        return List.copyOf(all);
    }

    @Override
    public void close() {
        try {
            response.body().close();
        } catch (IOException e) {
            // Gone already.
        }
    }
}
