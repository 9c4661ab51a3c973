package ccc.core.http;

import ccc.core.config.CoreConfig;
import ccc.core.json.Json;
import ccc.core.log.Log;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

    private static final Log LOG = Log.named("http");

    /**
     * File descriptors kept free beside the connections: the JVM's own files, the listening
     * socket, the workload's pipes, reads of {@code /proc} and {@code /sys}, adapter jars.
     */
    public static final int FD_HEADROOM = 256;

    /**
     * The heap one connection costs the JDK's server while it reads a request, besides the
     * headers: its input and output buffers (about 36 KiB, measured with jcmd on 990 idle connections).
     */
    public static final int CONNECTION_BUFFER_BYTES = 40 * 1024;

    /** Connections reading requests may take at most this share of the heap, each with full headers. */
    public static final double HEAP_SHARE_FOR_CONNECTIONS = 0.5;

    /** The part of {@link #DATE_HEADER_PATTERN} that names the time zone. */
    static final String DATE_HEADER_ZONE_PATTERN = "zzz";
    /**
     * The pattern, locale and zone of the {@code Date} header the JDK's server writes on every
     * answer ({@code sun.net.httpserver.ExchangeImpl}'s formatter).
     */
    static final String DATE_HEADER_PATTERN = "EEE, dd MMM yyyy HH:mm:ss " + DATE_HEADER_ZONE_PATTERN;

    /**
     * Starts, on threads of their own, the first uses that the API's set-up and first answer would
     * otherwise make on their way, and returns the threads. Started as the core begins, they run
     * beside the configuration's loading; what each use loads and initialises
     * once is there when the main thread or the server needs it. First a {@code Date} header
     * formatted as the JDK's server does on every answer, the first answer included (the probe's,
     * which the {@link StartUpGate} gives from bytes made in advance): the first formatting loads
     * and reads the locale's calendar names (about 30 ms of a CPU, interpreted) and the time
     * zones' names (about 20 ms) from the CLDR locale data, and finishes well after the server
     * listens. The zone's name is looked up on a second thread of its own, as the two tables load
     * independently (launches 4 to 9 ms sooner to the first answer than with one thread), which
     * then starts the virtual threads' scheduler, whose first use (its pool and first carrier)
     * the server's first request would otherwise make (2 to 5 ms sooner). The first thread goes
     * on to the JSON writer (jackson-jr builds its factories when first used, 5 to 10 ms
     * interpreted), which the router's fixed answers need once the set-up builds it.
     */
    public static List<Thread> prepareInBackground() {
        Thread zoneAndScheduler = Thread.ofPlatform().name("http-prepare-zone").daemon().start(() -> {
            DateTimeFormatter.ofPattern(DATE_HEADER_ZONE_PATTERN, Locale.US).withZone(ZoneId.of("GMT")).format(Instant.now());
            try {
                Thread.ofVirtual().name("http-prepare-scheduler").start(() -> { }).join();
            } catch (InterruptedException e) {
                // Only a warm-up: the first request starts the scheduler then.
            }
        });
        Thread dateAndJson = Thread.ofPlatform().name("http-prepare").daemon().start(() -> {
            formatDateHeader(Instant.now());
            Json.write(Map.of());
        });
        return List.of(zoneAndScheduler, dateAndJson);
    }

    /** {@code instant} as the JDK's server writes it in a {@code Date} header. */
    static String formatDateHeader(Instant instant) {
        return DateTimeFormatter.ofPattern(DATE_HEADER_PATTERN, Locale.US).withZone(ZoneId.of("GMT")).format(instant);
    }

    /**
     * Binds and starts serving; a port of 0 takes any free port. The JDK server reads its limits
     * from system properties once, when it is first used, so they are set here, before that.
     */
    public static ApiServer start(CoreConfig.ServerSection config, com.sun.net.httpserver.HttpHandler router) throws IOException {
        var openFiles = openFilesLimit();
        long heap = Runtime.getRuntime().maxMemory();
        int maxConnections = connectionLimit(config.maxConnections(), openFiles, heap, config.maxHeaderBytes());
        if (maxConnections < config.maxConnections()) {
            LOG.warn("server.max_connections is more than the open-files limit or the heap can serve; fewer connections are allowed",
                    "max_connections", config.maxConnections(), "allowed", maxConnections,
                    "open_files_limit", openFiles.orElse(-1), "fd_headroom", FD_HEADROOM,
                    "heap_mb", heap >> 20, "max_header_bytes", config.maxHeaderBytes());
        }
        // Connections over the limit are accepted and closed at once, so descriptors never run out.
        setDefault("jdk.httpserver.maxConnections", maxConnections);
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

    /**
     * The connections to allow: as configured, but no more than the open-files limit leaves after
     * {@link #FD_HEADROOM}, nor than fit in {@link #HEAP_SHARE_FOR_CONNECTIONS} of the heap with
     * full headers (counted twice: the parser holds them as text and in its buffers), and at least one.
     */
    static int connectionLimit(int configured, java.util.OptionalLong openFilesLimit, long maxHeapBytes, int maxHeaderBytes) {
        long byFiles = openFilesLimit.isEmpty() ? Long.MAX_VALUE : openFilesLimit.getAsLong() - FD_HEADROOM;
        long byHeap = (long) (maxHeapBytes * HEAP_SHARE_FOR_CONNECTIONS) / (CONNECTION_BUFFER_BYTES + 2L * maxHeaderBytes);
        return (int) Math.max(1, Math.min(configured, Math.min(byFiles, byHeap)));
    }

    /**
     * This process's soft limit on open files ({@code RLIMIT_NOFILE}), as the kernel reports it;
     * the JVM has raised it to the hard limit by the time the core runs.
     */
    static java.util.OptionalLong openFilesLimit() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(Long.parseLong(soft));
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot read the open-files limit; server.max_connections is applied as configured", "reason", e.toString());
        }
        return java.util.OptionalLong.empty();
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
