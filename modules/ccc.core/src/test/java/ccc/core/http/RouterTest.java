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
        var answered = new ConcurrentLinkedQueue<String>();
        var router = new Router(1024, (path, method, status) -> answered.add(path + " " + method + " " + status), Optional.empty(), false)
                .raw("GET", "/broken", exchange -> {
                    throw new IllegalStateException("collector failed");
                });
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", router);
        server.start();
        try {
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/broken").toURL().openConnection();
            assertEquals(500, connection.getResponseCode());
            String body = new String(connection.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("{\"detail\":\"internal error: collector failed\"}", body);
            assertTrue(answered.contains("/broken GET 500"), answered.toString());
        } finally {
            server.stop(0);
        }
    }
}
