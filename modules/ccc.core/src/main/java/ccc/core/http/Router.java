package ccc.core.http;

import ccc.core.config.Secret;
import ccc.core.json.Json;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.log.Log;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Dispatches exact paths and methods to routes, and is the one place where exceptions become
 * status codes: every refusal is a JSON {@code {"detail": ...}}.
 */
public final class Router implements HttpHandler {

    /** A route answering with JSON. */
    @FunctionalInterface
    public interface JsonRoute {
        Response handle(Request request) throws Exception;
    }

    /** Observes every answered request, for the request counters. */
    @FunctionalInterface
    public interface Observer {
        void answered(String route, String method, int status);

        Observer NONE = (route, method, status) -> { };
    }

    private static final Log LOG = Log.named("http");
    private static final byte[] NOT_FOUND = Json.write(Map.of("detail", "Not Found"));
    private static final byte[] METHOD_NOT_ALLOWED = Json.write(Map.of("detail", "Method Not Allowed"));

    private static final byte[] UNAUTHORIZED = Json.write(Map.of("detail", "missing or invalid bearer token"));
    private static final java.util.Set<String> STANDARD_METHODS =
            java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");

    private final Map<String, Map<String, HttpHandler>> routes = new LinkedHashMap<>();
    private final long maxBodyBytes;
    private final BodyBudget bodies;
    private final Observer observer;
    // When the latest request was answered (System.nanoTime()): how long the core has been quiet.
    private volatile long lastAnswered = System.nanoTime();
    private final Optional<Secret> token;
    private final boolean metricsNeedToken;

    /**
     * A router that answers every {@code /api/*} path but {@code /api/health} and
     * {@code /api/ready} with 401 unless the request carries {@code token}, when one is set;
     * {@code /metrics} and {@code /api/metrics} too when {@code metricsNeedToken}.
     */
    public Router(long maxBodyBytes, Observer observer, Optional<Secret> token, boolean metricsNeedToken) {
        this.maxBodyBytes = maxBodyBytes;
        this.bodies = new BodyBudget(maxBodyBytes);
        this.observer = observer;
        this.token = token;
        this.metricsNeedToken = metricsNeedToken;
    }

    private boolean needsToken(String path) {
        if (path.equals("/api/health") || path.equals("/api/ready")) {
            return false;
        }
        if (path.equals("/metrics") || path.equals("/api/metrics")) {
            return metricsNeedToken;
        }
        return path.startsWith("/api/");
    }

    private boolean authorized(HttpExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : null;
        return token.get().matches(presented);
    }

    /** Adds a JSON route. */
    public Router json(String method, String path, JsonRoute route) {
        return raw(method, path, exchange -> answer(exchange, route));
    }

    /** Adds a route that writes its own response. */
    public Router raw(String method, String path, HttpHandler handler) {
        routes.computeIfAbsent(path, ignored -> new TreeMap<>()).put(method, handler);
        return this;
    }

    /** Every route: path to its methods, for documentation and tests. */
    public Map<String, java.util.Set<String>> routes() {
        var view = new LinkedHashMap<String, java.util.Set<String>>();
        routes.forEach((path, methods) -> view.put(path, java.util.Set.copyOf(methods.keySet())));
        return view;
    }

    /**
     * The method as the observer sees it: one of the standard methods, else {@code other}, so
     * that no client can make the request counters grow by inventing methods (paths that are no
     * route are {@code other} likewise).
     */
    static String methodLabel(String method) {
        return STANDARD_METHODS.contains(method) ? method : "other";
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        String methodLabel = methodLabel(method);
        try (exchange) {
            Map<String, HttpHandler> methods = routes.get(path);
            if (methods == null && redirectedToRoute(exchange, path)) {
                observer.answered("other", methodLabel, 307);
                return;
            }
            if (token.isPresent() && needsToken(path) && !authorized(exchange)) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"ccc\"");
                send(exchange, 401, UNAUTHORIZED);
                observer.answered(routes.containsKey(path) ? path : "other", methodLabel, 401);
                return;
            }
            if (methods == null) {
                send(exchange, 404, NOT_FOUND);
                observer.answered("other", methodLabel, 404);
                return;
            }
            HttpHandler handler = methods.get(method);
            if (handler == null) {
                exchange.getResponseHeaders().set("Allow", String.join(", ", methods.keySet()));
                send(exchange, 405, METHOD_NOT_ALLOWED);
                observer.answered(path, methodLabel, 405);
                return;
            }
            try {
                handler.handle(exchange);
            } catch (HttpError.Raised raised) {
                if (exchange.getResponseCode() == -1) {
                    send(exchange, raised.error().status(), Json.write(Response.detail(raised.error().status(), raised.error().detail()).body()));
                }
            } catch (RuntimeException e) {
                LOG.error("request failed", e, "path", path);
                if (exchange.getResponseCode() == -1) {
                    send(exchange, 500, Json.write(Response.detail(500, "internal error: " + Log.describe(e)).body()));
                }
            }
            observer.answered(path, methodLabel, exchange.getResponseCode());
        } catch (IOException e) {
            LOG.debug("connection failed while answering", "path", path, "reason", e.getMessage());
        } finally {
            lastAnswered = System.nanoTime();
        }
    }

    /**
     * Answers a route's path with one trailing slash, {@code /api/health/}, with a 307 to the route, query kept, as
     * FastAPI did: clients follow it with the same method and body. The route is public knowledge (/openapi.json),
     * so this comes before the token check, which the followed request then meets.
     */
    private boolean redirectedToRoute(HttpExchange exchange, String path) throws IOException {
        if (path.length() < 2 || !path.endsWith("/")) {
            return false;
        }
        String route = path.substring(0, path.length() - 1);
        if (!routes.containsKey(route)) {
            return false;
        }
        String query = exchange.getRequestURI().getRawQuery();
        // The route's own text, never the request's, goes into the header.
        exchange.getResponseHeaders().set("Location", query == null ? route : route + "?" + query);
        sendHeaders(exchange, 307, -1);
        return true;
    }

    /** The {@link System#nanoTime()} at which the latest request was answered (or the router was made). */
    public long lastAnsweredNanos() {
        return lastAnswered;
    }

    private void answer(HttpExchange exchange, JsonRoute route) throws IOException {
        Response response;
        var request = new Request(exchange, maxBodyBytes, bodies);
        try {
            response = route.handle(request);
        } catch (HttpError e) {
            response = Response.detail(e.status(), e.detail());
        } catch (Lifecycle.ShuttingDownException e) {
            response = Response.detail(503, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            response = Response.detail(503, "the core is shutting down");
        } catch (Exception e) {
            LOG.error("request failed", e, "path", exchange.getRequestURI().getPath());
            response = Response.detail(500, "internal error: " + Log.describe(e));
        } finally {
            request.release();
        }
        if (response.body() instanceof StreamedAnswer stream) {
            stream.serve(exchange);
            return;
        }
        byte[] body;
        try {
            body = Json.write(response.body());
        } catch (RuntimeException | StackOverflowError e) {
            LOG.error("response could not be serialised", "path", exchange.getRequestURI().getPath(), "reason", Log.describe(e));
            response = Response.detail(500, "response could not be serialised: " + Log.describe(e));
            body = Json.write(response.body());
        }
        send(exchange, response.status(), body);
    }

    /** Sends a JSON body (none to HEAD). */
    public static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if (sendHeaders(exchange, status, body.length == 0 ? -1 : body.length)) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /**
     * Sends the status and headers of every answer the core writes; {@code length} as
     * {@link HttpExchange#sendResponseHeaders} takes it (0: chunked, -1: no body). An answer to
     * HEAD has no body, and the JDK's server must be told so with -1: given a length, it warns
     * through its logger on every such request, which anyone can send.
     *
     * @return whether a body is to be written
     */
    public static boolean sendHeaders(HttpExchange exchange, int status, long length) throws IOException {
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : length);
        return !head && length != -1;
    }
}
