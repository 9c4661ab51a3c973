package ccc.core.http;

import ccc.api.Payload;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.Planner;
import ccc.core.lifecycle.SignalOutcome;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.StartPlan;
import ccc.core.lifecycle.UpdatePlan;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.log.Timestamps;
import ccc.core.metrics.MetricsService;
import ccc.core.process.Signals;
import ccc.core.process.WorkloadOutput;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpHandler;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The control API of compat.md, plus {@code /api/status}: parses and validates requests, then hands commands to the lifecycle. */
public final class ControlApi {

    private static final int DEFAULT_TAIL = 100;
    /** {@code /api/logs} answers being written at once; more answer 503 (each holds a batch of lines and a thread while it writes). */
    public static final int MAX_CONCURRENT_LOG_READS = 16;
    /** The text an {@code /api/logs} answer takes from the buffer at a time, in characters. */
    static final int LOG_BATCH_CHARS = 16 * 1024;

    private final Lifecycle lifecycle;
    private final Planner planner;
    private final MetricsService metrics;
    private final WorkloadOutput output;
    private final java.util.function.BooleanSupplier ready;
    private final byte[] openApi;
    private final java.util.concurrent.Semaphore logReads = new java.util.concurrent.Semaphore(MAX_CONCURRENT_LOG_READS);

    public ControlApi(Lifecycle lifecycle, Planner planner, MetricsService metrics, WorkloadOutput output,
                      java.util.function.BooleanSupplier ready) {
        this.lifecycle = lifecycle;
        this.planner = planner;
        this.metrics = metrics;
        this.output = output;
        this.ready = ready;
        this.openApi = openApiDocument();
    }

    private static byte[] openApiDocument() {
        try (var in = ControlApi.class.getResourceAsStream("openapi.json")) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the core's module");
            }
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("openapi.json cannot be read", e);
        }
    }

    /** Adds every route to {@code router}; {@code prometheus} serves {@code /metrics}. */
    public Router register(Router router, HttpHandler prometheus) {
        return router
                .raw("GET", "/api/health", this::health)
                .json("GET", "/api/ready", request -> ready.getAsBoolean()
                        ? Response.ok(Map.of("status", "ready")) : Response.detail(503, "not ready"))
                .json("GET", "/api/status", this::status)
                .json("POST", "/api/start", this::start)
                .json("POST", "/api/update", this::update)
                .json("POST", "/api/stop", this::stop)
                .json("POST", "/api/signal", this::signal)
                .json("GET", "/api/logs", this::logs)
                .json("GET", "/api/metrics", request -> Response.ok(metrics.json()))
                .raw("GET", "/metrics", prometheus)
                .raw("GET", "/openapi.json", exchange -> Router.send(exchange, 200, openApi));
    }

    /** The four possible health bodies, serialised once: the liveness probe is the hottest path. */
    private static final Map<String, byte[]> HEALTH_BODIES = java.util.Arrays.stream(ccc.core.lifecycle.Phase.values())
            .map(ccc.core.lifecycle.Phase::appStatus)
            .distinct()
            .collect(java.util.stream.Collectors.toUnmodifiableMap(status -> status, status -> {
                var body = new LinkedHashMap<String, Object>();
                body.put("status", "healthy");
                body.put("app_status", status);
                return ccc.core.json.Json.write(body);
            }));

    private void health(com.sun.net.httpserver.HttpExchange exchange) throws java.io.IOException {
        Router.send(exchange, 200, HEALTH_BODIES.get(lifecycle.snapshot().appStatus()));
    }

    private Response status(Request request) {
        Snapshot snapshot = lifecycle.snapshot();
        var body = new LinkedHashMap<String, Object>();
        body.put("app_status", snapshot.appStatus());
        body.put("container_status", "running");
        body.put("phase", snapshot.phase().wireName());
        body.put("adapter", snapshot.adapterName());
        body.put("pid", snapshot.pid().isPresent() ? snapshot.pid().getAsLong() : null);
        body.put("started_at", snapshot.startedAt().map(Timestamps::format).orElse(null));
        body.put("stopped_at", snapshot.stoppedAt().map(Timestamps::format).orElse(null));
        body.put("exit_code", snapshot.exitCode().isPresent() ? snapshot.exitCode().getAsInt() : null);
        body.put("exit_signal", snapshot.exitCode().isPresent() && snapshot.exitCode().getAsInt() > 128
                ? Signals.name(snapshot.exitCode().getAsInt() - 128).orElse(null) : null);
        body.put("restarts", snapshot.restarts());
        body.put("last_error", snapshot.lastError().orElse(null));
        body.put("timestamp", Timestamps.now());
        return Response.ok(body);
    }

    private Response start(Request request) throws HttpError {
        StartPlan plan;
        try {
            plan = planner.start(new Payload(request.jsonObject(false)));
        } catch (Planner.InvalidRequest e) {
            throw new HttpError(400, e.getMessage());
        }
        lifecycle.start(plan);
        return Response.message("start initiated");
    }

    private Response update(Request request) throws HttpError, InterruptedException {
        UpdatePlan plan;
        try {
            plan = planner.update(new Payload(request.jsonObject(false)));
        } catch (Planner.InvalidRequest e) {
            throw new HttpError(400, e.getMessage());
        }
        return switch (lifecycle.update(plan)) {
            case UpdateOutcome.NotRunning notRunning -> Response.detail(400, "application not running");
            case UpdateOutcome.Failed failed -> Response.detail(500, output.redactor().redact(failed.reason()));
            case UpdateOutcome.Answered answered -> switch (answered.result()) {
                case APPLIED -> Response.message("update applied");
                case DECLINED -> Response.detail(409, "adapter declined update");
                case NOT_SUPPORTED -> Response.detail(409, "live-update not supported");
            };
        };
    }

    private Response signal(Request request) throws HttpError, InterruptedException {
        Map<String, Object> body = request.jsonObject(false);
        if (!(body.get("signal") instanceof String name)) {
            throw new HttpError(422, "'signal' must be a signal name such as \"HUP\"");
        }
        int number = Signals.number(name).orElseThrow(() -> new HttpError(400, "unknown signal '" + name + "'"));
        return switch (lifecycle.signal(number)) {
            case DELIVERED -> Response.message("signal " + Signals.name(number).orElseThrow() + " delivered");
            case NOT_RUNNING -> Response.detail(409, "application not running");
        };
    }

    private Response logs(Request request) throws HttpError {
        Map<String, String> query = query(request.query());
        int tail = DEFAULT_TAIL;
        if (query.containsKey("tail")) {
            try {
                tail = Integer.parseInt(query.get("tail"));
            } catch (NumberFormatException e) {
                tail = -1;
            }
            if (tail < 0 || tail > output.capacity()) {
                throw new HttpError(400, "'tail' must be a whole number from 0 to " + output.capacity() + ", got '" + query.get("tail") + "'");
            }
        }
        WorkloadOutput.Stream only = switch (query.getOrDefault("stream", "both")) {
            case "both" -> null;
            case "stdout" -> WorkloadOutput.Stream.STDOUT;
            case "stderr" -> WorkloadOutput.Stream.STDERR;
            default -> throw new HttpError(400, "'stream' must be stdout, stderr or both, got '" + query.get("stream") + "'");
        };
        if (!logReads.tryAcquire()) {
            throw new HttpError(503, "too many /api/logs answers in progress (at most " + MAX_CONCURRENT_LOG_READS + "); try again shortly");
        }
        return Response.streamed(new LogLines(output.cursor(tail, only)));
    }

    /**
     * {@code {"lines": [...], "truncated": false}}, written a batch of lines at a time, so that
     * however long the lines and however many answers run at once, each holds little memory.
     * {@code truncated} says that lines of the tail left the buffer before the answer reached them.
     */
    private final class LogLines implements StreamedJson {
        private final WorkloadOutput.Cursor cursor;

        LogLines(WorkloadOutput.Cursor cursor) {
            this.cursor = cursor;
        }

        @Override
        public void writeTo(JsonGenerator json) throws java.io.IOException {
            json.writeStartObject();
            json.writeArrayFieldStart("lines");
            for (List<WorkloadOutput.Line> batch = cursor.next(LOG_BATCH_CHARS); !batch.isEmpty(); batch = cursor.next(LOG_BATCH_CHARS)) {
                for (WorkloadOutput.Line line : batch) {
                    json.writeStartObject();
                    json.writeStringField("timestamp", Timestamps.format(line.time()));
                    json.writeStringField("stream", line.stream().wireName());
                    json.writeStringField("line", line.text());
                    json.writeEndObject();
                }
            }
            json.writeEndArray();
            json.writeBooleanField("truncated", cursor.missedLines());
            json.writeEndObject();
        }

        @Override
        public void close() {
            logReads.release();
        }
    }

    private static Map<String, String> query(String raw) throws HttpError {
        var parameters = new LinkedHashMap<String, String>();
        if (raw == null || raw.isEmpty()) {
            return parameters;
        }
        for (String pair : raw.split("&")) {
            int equals = pair.indexOf('=');
            try {
                String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
                String value = equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
                parameters.put(name, value);
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, "malformed query string");
            }
        }
        return parameters;
    }

    private Response stop(Request request) throws HttpError {
        Map<String, Object> body = request.jsonObject(true);
        Object force = body.getOrDefault("force", Boolean.FALSE);
        if (!(force instanceof Boolean)) {
            throw new HttpError(422, "'force' must be true or false");
        }
        boolean stopping = lifecycle.stop((Boolean) force);
        return Response.message(stopping ? "stop initiated" : "nothing to stop");
    }
}
