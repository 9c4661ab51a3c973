package ccc.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

class RouterTest {

    @Test
    void onlyTheStandardMethodsBecomeLabels() {
        for (String method : new String[] {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}) {
            assertEquals(method, Router.methodLabel(method));
        }
        assertEquals("other", Router.methodLabel("get"));
        assertEquals("other", Router.methodLabel("BREW"));
        assertEquals("other", Router.methodLabel("X".repeat(20_000)));
    }

    @Test
    void aRouteThatThrowsIsAnswered500WithADetailAndCounted() throws Exception {
        assertAnswered(exchange -> {
            throw new IllegalStateException("collector failed");
        }, 500, "{\"detail\":\"internal error: collector failed\"}");
    }

    @Test
    void aPlainHandlerRefusesWithTheStatusAndDetailOfItsHttpError() throws Exception {
        assertAnswered(exchange -> {
            throw new HttpError(503, "no thread could be started").raised();
        }, 503, "{\"detail\":\"no thread could be started\"}");
    }

    @Test
    void aRoutesPathWithATrailingSlashIsRedirectedToItAsFastApiDid() throws Exception {
        // Starlette answered /api/health/ with a 307 to /api/health (method and body kept); a 404 broke such clients.
        com.sun.net.httpserver.HttpHandler ok = exchange -> Router.send(exchange, 200, "{}".getBytes(StandardCharsets.UTF_8));
        var router = new Router(1024, (path, method, code) -> { }, Optional.of(ccc.core.config.Secret.of("token")), false)
                .raw("GET", "/api/health", ok).raw("POST", "/api/start", ok).raw("GET", "/", ok);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", router);
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            for (String[] request : new String[][] {
                    {"GET", "/api/health/", "307", "/api/health"},
                    {"GET", "/api/health/?verbose=1&x=%2F", "307", "/api/health?verbose=1&x=%2F"},
                    {"POST", "/api/start/", "307", "/api/start"},
                    {"GET", "/nothing/", "404", null},
                    // No route: as for any unknown path under /api/, the token is asked for first.
                    {"GET", "/api/health//", "401", null},
                    {"GET", "/api/nothing/", "401", null},
                    {"GET", "/api/health", "200", null},
                    {"GET", "/", "200", null}}) {
                var connection = (HttpURLConnection) URI.create(base + request[1]).toURL().openConnection();
                connection.setInstanceFollowRedirects(false);
                connection.setRequestMethod(request[0]);
                assertEquals(Integer.parseInt(request[2]), connection.getResponseCode(), request[0] + " " + request[1]);
                assertEquals(request[3], connection.getHeaderField("Location"), request[0] + " " + request[1]);
            }
        } finally {
            server.stop(0);
        }
    }

    /** Serves {@code handler} at {@code /broken} through a router; its answer must be {@code status} and {@code body}, and be counted. */
    private static void assertAnswered(com.sun.net.httpserver.HttpHandler handler, int status, String body) throws Exception {
        var answered = new ConcurrentLinkedQueue<String>();
        var router = new Router(1024, (path, method, code) -> answered.add(path + " " + method + " " + code), Optional.empty(), false)
                .raw("GET", "/broken", handler);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", router);
        server.start();
        try {
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/broken").toURL().openConnection();
            assertEquals(status, connection.getResponseCode());
            assertEquals("application/json", connection.getContentType());
            assertEquals(body, new String(connection.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            // The request is counted once its answer is written, so the client may read it first.
            String counted = "/broken GET " + status;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!answered.contains(counted) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(answered.contains(counted), answered.toString());
        } finally {
            server.stop(0);
        }
    }
}
