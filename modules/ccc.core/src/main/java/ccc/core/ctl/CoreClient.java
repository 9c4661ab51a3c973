package ccc.core.ctl;

import ccc.core.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** The HTTP API of a running core, through the JDK's HTTP client, with the bearer token when there is one. */
final class CoreClient {

    /** How long connecting may take. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** How long a call that is not a stream may take: an update waits for the adapter, bounded by the core's own timeouts. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

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

    /** A call answered whole: its JSON body, or {@link Refused} with the core's detail. */
    String call(String method, String path, byte[] body) throws Refused, Unreachable {
        HttpRequest.Builder request = request(path).timeout(CALL_TIMEOUT);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        }
        HttpResponse<byte[]> response = send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        String text = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() >= 400) {
            throw refused(response.statusCode(), text);
        }
        return text;
    }

    /** A stream ({@code /api/events}, {@code /api/logs?follow=true}) asked for as {@code accept}: its body as it comes. */
    InputStream stream(String path, String accept) throws Refused, Unreachable {
        HttpRequest request = request(path).header("Accept", accept).GET().build();
        HttpResponse<InputStream> response = send(request, HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() >= 400) {
            try (InputStream body = response.body()) {
                throw refused(response.statusCode(), new String(body.readNBytes(64 * 1024), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Refused(response.statusCode(), "(the answer could not be read: " + e.getMessage() + ")");
            }
        }
        return response.body();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path));
        token.ifPresent(value -> request.header("Authorization", "Bearer " + value));
        return request;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws Unreachable {
        try {
            return http.send(request, handler);
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
