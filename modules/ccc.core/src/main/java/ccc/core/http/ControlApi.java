package ccc.core.http;

import ccc.api.Payload;
import ccc.core.events.EventHub;
import ccc.core.events.EventType;
import ccc.core.events.Sse;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.Planner;
import ccc.core.lifecycle.SignalOutcome;
import ccc.core.lifecycle.StartPlan;
import ccc.core.lifecycle.UpdatePlan;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.log.Timestamps;
import ccc.core.metrics.MetricsService;
import ccc.core.os.Signals;
import ccc.core.process.WorkloadOutput;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpHandler;
import java.net.URLDecoder;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The control API of docs/compatibility.md, plus {@code /api/status}: parses and validates requests, then hands commands to the lifecycle. */
public final class ControlApi {

    private static final int DEFAULT_TAIL = 100;
    /** {@code /api/logs} answers being written at once; more answer 503 (each holds a batch of lines and a thread while it writes). */
    public static final int MAX_CONCURRENT_LOG_READS = 16;
    /** The text an {@code /api/logs} answer takes from the buffer at a time, in characters. */
    static final int LOG_BATCH_CHARS = 16 * 1024;
    /**
     * {@code /api/logs?follow=true} streams at once; more answer 503. They are counted apart from
     * the answers of {@link #MAX_CONCURRENT_LOG_READS}, which a follower would otherwise hold for ever.
     */
    public static final int MAX_LOG_FOLLOWERS = 16;
    /** The detail of {@code /api/ready}'s 503. */
    static final String NOT_READY = "not ready";
    /** How long a start's or stop's answer waits for the lifecycle to carry it out. */
    public static final Duration ANSWER_WAITS_AT_MOST = Duration.ofMillis(100);

    private final Lifecycle lifecycle;
    private final Planner planner;
    private final MetricsService metrics;
    private final WorkloadOutput output;
    private final java.util.function.BooleanSupplier ready;
    private final byte[] openApi;
    private final java.util.concurrent.Semaphore logReads = new java.util.concurrent.Semaphore(MAX_CONCURRENT_LOG_READS);
    private final java.util.concurrent.Semaphore logFollowers = new java.util.concurrent.Semaphore(MAX_LOG_FOLLOWERS);
    private final EventHub events;
    private final Streams streams;

    /**
     * @param events the events {@code /api/events} streams
     * @param streams writes the answers that go on while their clients stay
     */
    public ControlApi(Lifecycle lifecycle, Planner planner, MetricsService metrics, WorkloadOutput output,
                      java.util.function.BooleanSupplier ready, EventHub events, Streams streams) {
        this.lifecycle = lifecycle;
        this.planner = planner;
        this.metrics = metrics;
        this.output = output;
        this.ready = ready;
        this.events = events;
        this.streams = streams;
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
                        ? Response.ok(Map.of("status", "ready")) : Response.detail(503, NOT_READY))
                .json("GET", "/api/status", this::status)
                .json("POST", "/api/start", this::start)
                .json("POST", "/api/update", this::update)
                .json("POST", "/api/stop", this::stop)
                .json("POST", "/api/signal", this::signal)
                .json("GET", "/api/logs", this::logs)
                .json("GET", "/api/events", this::events)
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
        Router.send(exchange, 200, healthBody(lifecycle.snapshot().appStatus()));
    }

    /** The body of {@code /api/health} for {@code appStatus}. */
    static byte[] healthBody(String appStatus) {
        return HEALTH_BODIES.get(appStatus);
    }

    private Response status(Request request) {
        Map<String, Object> body = lifecycle.snapshot().wireFields();
        body.put("timestamp", Timestamps.now());
        return Response.ok(body);
    }

    private Response start(Request request) throws HttpError, InterruptedException {
        StartPlan plan;
        try {
            plan = planner.start(new Payload(request.jsonObject(false)));
        } catch (Planner.InvalidRequest e) {
            throw new HttpError(400, e.getMessage());
        }
        answerOnceCarriedOut(lifecycle.start(plan));
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
        boolean follow = switch (query.getOrDefault("follow", "false")) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new HttpError(400, "'follow' must be true or false, got '" + query.get("follow") + "'");
        };
        if (follow) {
            return follow(request, tail, only);
        }
        if (!logReads.tryAcquire()) {
            throw new HttpError(503, "too many /api/logs answers in progress (at most " + MAX_CONCURRENT_LOG_READS + "); try again shortly");
        }
        return new Response(200, streams.json(new LogLines(output.cursor(tail, only))));
    }

    /**
     * {@code /api/logs?follow=true}: the tail, then every new line until the client leaves, as
     * Server-Sent Events, or as NDJSON when the client accepts {@code application/x-ndjson}. With
     * {@code Last-Event-ID} (SSE) it resumes after that line instead of the tail.
     */
    private Response follow(Request request, int tail, WorkloadOutput.Stream only) throws HttpError {
        String accept = request.exchange().getRequestHeaders().getFirst("Accept");
        var format = accept != null && accept.toLowerCase(Locale.ROOT).contains("application/x-ndjson")
                ? FollowedLines.Format.NDJSON : FollowedLines.Format.SSE;
        OptionalLong resumeAfter = lastEventId(request);
        if (!logFollowers.tryAcquire()) {
            throw new HttpError(503, "too many /api/logs?follow=true streams (at most " + MAX_LOG_FOLLOWERS + "); try again shortly");
        }
        var follower = resumeAfter.isPresent() ? output.followAfter(resumeAfter.getAsLong(), only) : output.follow(tail, only);
        var lines = new FollowedLines(follower, format, LOG_BATCH_CHARS, logFollowers::release);
        return new Response(200, streams.answer("stream /api/logs", format.contentType, format.heartbeat, lines));
    }

    /**
     * {@code /api/events}: every event of the chosen types ({@code ?types=phase,exit}, else all) as
     * Server-Sent Events, until the client leaves; with {@code Last-Event-ID}, first those it missed.
     */
    private Response events(Request request) throws HttpError {
        Map<String, String> query = query(request.query());
        Set<EventType> types = EnumSet.allOf(EventType.class);
        if (query.containsKey("types")) {
            types = EnumSet.noneOf(EventType.class);
            for (String name : query.get("types").split(",", -1)) {
                String wanted = name.strip();
                types.add(EventType.named(wanted).orElseThrow(() -> new HttpError(400, wanted.isEmpty()
                        ? "'types' must name event types separated by commas, got '" + query.get("types") + "'"
                        : "unknown event type '" + wanted + "' in 'types'; the types are " + EventType.allNames())));
            }
        }
        OptionalLong lastEventId = lastEventId(request);
        try {
            var subscription = events.subscribe(types, lastEventId);
            return new Response(200, streams.answer("stream /api/events", Sse.CONTENT_TYPE, Sse.HEARTBEAT, subscription));
        } catch (EventHub.Refused e) {
            throw new HttpError(503, e.getMessage());
        }
    }

    /** The {@code Last-Event-ID} header an event stream's client sends when it reconnects. */
    private static OptionalLong lastEventId(Request request) throws HttpError {
        String header = request.exchange().getRequestHeaders().getFirst("Last-Event-ID");
        if (header == null || header.isBlank()) {
            return OptionalLong.empty();
        }
        try {
            long id = Long.parseLong(header.strip());
            if (id >= 0) {
                return OptionalLong.of(id);
            }
        } catch (NumberFormatException e) {
            // Refused below.
        }
        throw new HttpError(400, "Last-Event-ID must be a whole number, the id of an event this API sent; got '"
                + (header.length() > 40 ? header.substring(0, 40) + "…" : header) + "'");
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

    private Response stop(Request request) throws HttpError, InterruptedException {
        Map<String, Object> body = request.jsonObject(true);
        Object force = body.getOrDefault("force", Boolean.FALSE);
        if (!(force instanceof Boolean)) {
            throw new HttpError(422, "'force' must be true or false");
        }
        Optional<CompletableFuture<Void>> stopping = lifecycle.stop((Boolean) force);
        if (stopping.isEmpty()) {
            return Response.message("nothing to stop");
        }
        answerOnceCarriedOut(stopping.get());
        return Response.message("stop initiated");
    }

    /**
     * Holds a start's or stop's answer until the lifecycle has carried it out, for at most
     * {@link #ANSWER_WAITS_AT_MOST}: a client's next request then sees the outcome of a quick
     * transition rather than one more {@code initializing}, and a slow one is still answered at
     * once. The answer is the same either way.
     */
    private static void answerOnceCarriedOut(CompletableFuture<Void> transition) throws InterruptedException {
        try {
            transition.get(ANSWER_WAITS_AT_MOST.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // Still under way, or ended however it ended: the state and the events tell the rest.
        }
    }
}
