package ccc.core.http;

import ccc.core.json.Json;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Map;

/**
 * One API request: its method, path, query and a size-limited, content-type-checked body. The
 * body is read only against a share of a budget common to all requests (see {@link BodyBudget}),
 * which the router gives back when the request is answered.
 */
public final class Request {

    /** How many times {@code server.max_body_bytes} of an oversized body are read and thrown away before its 413. */
    static final long DRAIN_LIMIT_TIMES = 4;

    private final HttpExchange exchange;
    private final long maxBodyBytes;
    private final BodyBudget budget;
    private long reserved;

    Request(HttpExchange exchange, long maxBodyBytes, BodyBudget budget) {
        this.exchange = exchange;
        this.maxBodyBytes = maxBodyBytes;
        this.budget = budget;
    }

    /** Gives back the share of the body budget this request took; called once it is answered. */
    void release() {
        budget.release(reserved);
        reserved = 0;
    }

    public String method() {
        return exchange.getRequestMethod();
    }

    public String path() {
        return exchange.getRequestURI().getPath();
    }

    /** The raw query string, or null. */
    public String query() {
        return exchange.getRequestURI().getRawQuery();
    }

    public HttpExchange exchange() {
        return exchange;
    }

    /**
     * The body, read whole up to the configured limit.
     *
     * @throws HttpError 413 when larger than the limit, 415 when a content type other than JSON is
     *     declared, 503 when the bodies of other requests hold the whole budget for too long
     */
    public byte[] body() throws HttpError {
        String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
        if (contentType != null && !isJson(contentType)) {
            throw new HttpError(415, "Content-Type must be application/json, got '" + contentType + "'");
        }
        String declared = exchange.getRequestHeaders().getFirst("Content-Length");
        long expected = maxBodyBytes;
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw new HttpError(400, "Content-Length is not a number: '" + declared + "'");
            }
            if (length > maxBodyBytes) {
                if (length <= DRAIN_LIMIT_TIMES * maxBodyBytes) {
                    drain();
                }
                throw tooLarge();
            }
            expected = Math.max(0, length);
        }
        // Until its share is granted the body waits in the socket, not in the heap.
        reserved += budget.reserve(expected);
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
            if (body.length > maxBodyBytes) {
                drain();
                throw tooLarge();
            }
            return body;
        } catch (IOException e) {
            throw new HttpError(400, "body could not be read: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
        } catch (RuntimeException e) {
            // The JDK's chunked decoder reads a chunk size of 2^31 or more as a negative length, and
            // fails on it with a bare runtime exception, most often without a message.
            boolean chunked = "chunked".equalsIgnoreCase(String.valueOf(exchange.getRequestHeaders().getFirst("Transfer-Encoding")).strip());
            throw new HttpError(400, "body could not be read: " + (chunked
                    ? "a chunk size of the chunked body is malformed or larger than a chunk may be (2^31 - 1 bytes)"
                    : "the body is malformed") + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The body as a JSON object; when {@code optional}, an empty body or a JSON {@code null} reads as {@code {}}, as
     * FastAPI read an optional body (clients send {@code null} for "no options").
     */
    public Map<String, Object> jsonObject(boolean optional) throws HttpError {
        byte[] body = body();
        if (optional && isBlank(body)) {
            return Map.of();
        }
        try {
            return optional ? Json.readOptionalObject(body) : Json.readObject(body);
        } catch (Json.InvalidJson e) {
            throw new HttpError(422, e.getMessage());
        }
    }

    /**
     * Reads and discards up to {@link #DRAIN_LIMIT_TIMES} times the limit of an oversized body
     * (one declared no larger, or of unknown length), so the client gets its 413 instead of a
     * connection reset; a body declared larger is not worth reading and the connection closes.
     */
    private void drain() {
        long cap = DRAIN_LIMIT_TIMES * maxBodyBytes;
        try (InputStream in = exchange.getRequestBody()) {
            long skipped = 0;
            byte[] buffer = new byte[16 * 1024];
            int read;
            while (skipped < cap && (read = in.read(buffer)) >= 0) {
                skipped += read;
            }
        } catch (IOException | RuntimeException e) {
            // The client went away; nothing to drain.
        }
    }

    private HttpError tooLarge() {
        return new HttpError(413, "body is larger than the limit of " + maxBodyBytes + " bytes (server.max_body_bytes)");
    }

    private static boolean isJson(String contentType) {
        String type = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return type.equals("application/json") || (type.startsWith("application/") && type.endsWith("+json"));
    }

    private static boolean isBlank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return true;
    }
}
