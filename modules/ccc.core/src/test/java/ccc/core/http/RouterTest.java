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
