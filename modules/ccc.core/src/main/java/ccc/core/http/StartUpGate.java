package ccc.core.http;

import ccc.core.json.Json;
import ccc.core.lifecycle.Phase;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the API's server serves while the core sets itself up behind it: the liveness probe
 * ({@code GET /api/health}) answers at once that the core is up and its workload
 * {@code initializing}, {@code GET /api/ready} that it is not ready, and every other request
 * waits for the router, which then answers it as it would any. So the server listens as soon as
 * the configuration is read, and the lifecycle, the metrics and the routes are built while the
 * first probes are answered; nothing is refused or answered differently for it.
 */
public final class StartUpGate implements HttpHandler {

    /** How long a request waits for the core's set-up at most; it is answered 503 after that. */
    public static final Duration SET_UP_WITHIN = Duration.ofSeconds(30);

    private final CompletableFuture<HttpHandler> router = new CompletableFuture<>();

    /** From now on every request goes to {@code opened}, those waiting for it first. */
    public void open(HttpHandler opened) {
        router.complete(opened);
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        HttpHandler opened = router.getNow(null);
        if (opened == null && "GET".equals(exchange.getRequestMethod())) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/api/health")) {
                Router.send(exchange, 200, ControlApi.healthBody(Phase.IDLE.appStatus()));
                return;
            }
            if (path.equals("/api/ready")) {
                Router.send(exchange, 503, Json.write(Map.of("detail", ControlApi.NOT_READY)));
                return;
            }
        }
        if (opened == null) {
            try {
                opened = router.get(SET_UP_WITHIN.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                Router.send(exchange, 503, Json.write(Map.of("detail", "the core is still starting")));
                return;
            } catch (InterruptedException e) {
                // The server is stopping.
                Thread.currentThread().interrupt();
                exchange.close();
                return;
            }
        }
        opened.handle(exchange);
    }
}
