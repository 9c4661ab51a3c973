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

    private static final String HEALTH = "/api/health";
    private static final String READY = "/api/ready";

    private final CompletableFuture<HttpHandler> router = new CompletableFuture<>();
    // The probes answered here before the router opened, counted once there is a counter to count them.
    private final Object counting = new Object();
    private long healthAnswered;
    private long readyAnswered;
    private Router.Observer counter;

    /**
     * From now on every request goes to {@code opened}, those waiting for it first; {@code
     * counter} (the router's) is told of the probes answered here until now, and of any answered
     * here after, so that the request counters miss none. A request that gave up waiting for the
     * router ({@link #SET_UP_WITHIN}) is not counted: which route it asked for is the router's to say.
     */
    public void open(HttpHandler opened, Router.Observer counter) {
        synchronized (counting) {
            this.counter = counter;
            for (long i = 0; i < healthAnswered; i++) {
                counter.answered(HEALTH, "GET", 200);
            }
            for (long i = 0; i < readyAnswered; i++) {
                counter.answered(READY, "GET", 503);
            }
        }
        router.complete(opened);
    }

    private void answered(String path, int status) {
        synchronized (counting) {
            if (counter != null) {
                counter.answered(path, "GET", status);
            } else if (path.equals(HEALTH)) {
                healthAnswered++;
            } else {
                readyAnswered++;
            }
        }
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        HttpHandler opened = router.getNow(null);
        if (opened == null && "GET".equals(exchange.getRequestMethod())) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals(HEALTH)) {
                Router.send(exchange, 200, ControlApi.healthBody(Phase.IDLE.appStatus()));
                answered(HEALTH, 200);
                return;
            }
            if (path.equals(READY)) {
                Router.send(exchange, 503, Json.write(Map.of("detail", ControlApi.NOT_READY)));
                answered(READY, 503);
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
