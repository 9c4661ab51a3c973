package ccc.core.http;

import ccc.core.config.CoreConfig;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** The JDK's HTTP server on a virtual-thread executor, serving one {@link Router}. */
public final class ApiServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;

    private ApiServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds and starts serving; a port of 0 takes any free port. The JDK server reads its limits
     * from system properties once, when it is first used, so they are set here, before that.
     */
    public static ApiServer start(CoreConfig.Server config, Router router) throws IOException {
        setDefault("sun.net.httpserver.maxReqHeaders", config.maxHeaders());
        setDefault("sun.net.httpserver.maxReqHeaderSize", config.maxHeaderBytes());
        setDefault("sun.net.httpserver.maxReqTime", Math.max(1, config.requestTimeout().toSeconds()));
        setDefault("sun.net.httpserver.idleInterval", Math.max(1, config.idleTimeout().toSeconds()));
        // Check the request and idle timers every second rather than every ten.
        setDefault("sun.net.httpserver.timerMillis", 1000);
        setDefault("sun.net.httpserver.clockTick", 1000);
        HttpServer server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 512);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", router);
        server.start();
        return new ApiServer(server, executor);
    }

    private static void setDefault(String property, long value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, Long.toString(value));
        }
    }

    /** The port actually bound. */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
