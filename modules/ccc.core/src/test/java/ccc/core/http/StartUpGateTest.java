package ccc.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The API while the core sets itself up: over real HTTP on loopback. */
class StartUpGateTest {

    private final StartUpGate gate = new StartUpGate();
    private final HttpClient client = HttpClient.newHttpClient();
    private HttpServer server;

    @BeforeEach
    void listen() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", gate);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path)).timeout(Duration.ofSeconds(20));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theLivenessProbeIsAnsweredAndReadinessRefusedWhileTheCoreSetsUp() throws Exception {
        var health = get("/api/health");
        assertEquals(200, health.statusCode());
        assertEquals("{\"status\":\"healthy\",\"app_status\":\"initializing\"}", health.body());
        assertEquals("application/json", health.headers().firstValue("Content-Type").orElseThrow());
        var ready = get("/api/ready");
        assertEquals(503, ready.statusCode());
        assertEquals("{\"detail\":\"not ready\"}", ready.body());
    }

    @Test
    void theProbesAnsweredBeforeTheRouterOpensAreCountedOnceItDoes() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, get("/api/health").statusCode());
        }
        assertEquals(503, get("/api/ready").statusCode());
        var counted = new java.util.concurrent.CopyOnWriteArrayList<String>();
        Router.Observer counter = (route, method, status) -> counted.add(method + " " + route + " " + status);
        gate.open(new Router(1024, counter, Optional.empty(), false)
                .raw("GET", "/api/health", exchange -> Router.send(exchange, 200, "{}".getBytes())), counter);
        // The gate counts a probe once its answer is sent, so the client may see the last one first: it is counted at
        // the opening or just after it, never lost.
        long counting = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (counted.size() < 4 && System.nanoTime() < counting) {
            Thread.sleep(5);
        }
        assertEquals(java.util.List.of("GET /api/health 200", "GET /api/health 200", "GET /api/health 200", "GET /api/ready 503"),
                counted);
        assertEquals(200, get("/api/health").statusCode());
        // The router counts an answer once it is sent, so the client may see it first.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (counted.size() < 5 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertEquals(5, counted.size(), "the router counts what it answers, once: " + counted);
        assertEquals("GET /api/health 200", counted.getLast());
    }

    @Test
    void everyOtherRequestWaitsForTheRouterAndIsAnsweredByIt() throws Exception {
        CompletableFuture<HttpResponse<String>> start = client.sendAsync(
                request("/api/start").POST(HttpRequest.BodyPublishers.ofString("{\"flowfile\": \"x\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        CompletableFuture<HttpResponse<String>> unknown = client.sendAsync(request("/nowhere").build(), HttpResponse.BodyHandlers.ofString());
        Thread.sleep(300);
        assertFalse(start.isDone(), "answered before the core was set up");
        assertFalse(unknown.isDone(), "answered before the core was set up");

        var router = new Router(1024, Router.Observer.NONE, Optional.empty(), false)
                .json("POST", "/api/start", request -> Response.ok(Map.of("got", request.jsonObject(false).get("flowfile"))))
                .raw("GET", "/api/health", exchange -> Router.send(exchange, 200, "{\"from\":\"router\"}".getBytes()));
        gate.open(router, Router.Observer.NONE);

        var started = start.get(20, TimeUnit.SECONDS);
        assertEquals(200, started.statusCode());
        assertEquals("{\"got\":\"x\"}", started.body(), "the body waited with its request");
        assertEquals(404, unknown.get(20, TimeUnit.SECONDS).statusCode());
        assertEquals("{\"from\":\"router\"}", get("/api/health").body(), "once open, the router answers the probe too");
    }
}
