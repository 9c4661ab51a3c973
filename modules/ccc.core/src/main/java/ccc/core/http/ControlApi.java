package ccc.core.http;

import ccc.api.Payload;
import ccc.core.lifecycle.Lifecycle;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.log.Timestamps;
import ccc.core.metrics.MetricsService;
import com.sun.net.httpserver.HttpHandler;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The control API of compat.md, plus {@code /api/status}: parses and validates requests, then hands commands to the lifecycle. */
public final class ControlApi {

    private final Lifecycle lifecycle;
    private final MetricsService metrics;
    private final Optional<String> primaryPayloadKey;

    public ControlApi(Lifecycle lifecycle, MetricsService metrics, Optional<String> primaryPayloadKey) {
        this.lifecycle = lifecycle;
        this.metrics = metrics;
        this.primaryPayloadKey = primaryPayloadKey;
    }

    /** Adds every route to {@code router}; {@code prometheus} serves {@code /metrics}. */
    public Router register(Router router, HttpHandler prometheus) {
        return router
                .json("GET", "/api/health", this::health)
                .json("GET", "/api/status", this::status)
                .json("POST", "/api/start", this::start)
                .json("POST", "/api/update", this::update)
                .json("POST", "/api/stop", this::stop)
                .json("GET", "/api/metrics", request -> Response.ok(metrics.json()))
                .raw("GET", "/metrics", prometheus);
    }

    private Response health(Request request) {
        var body = new LinkedHashMap<String, Object>();
        body.put("status", "healthy");
        body.put("app_status", lifecycle.snapshot().appStatus());
        return Response.ok(body);
    }

    private Response status(Request request) {
        Snapshot snapshot = lifecycle.snapshot();
        var body = new LinkedHashMap<String, Object>();
        body.put("app_status", snapshot.appStatus());
        body.put("container_status", "running");
        body.put("phase", snapshot.phase().wireName());
        body.put("adapter", snapshot.adapterName());
        body.put("pid", snapshot.pid());
        body.put("started_at", snapshot.startedAt() == null ? null : Timestamps.format(snapshot.startedAt()));
        body.put("stopped_at", snapshot.stoppedAt() == null ? null : Timestamps.format(snapshot.stoppedAt()));
        body.put("exit_code", snapshot.exitCode());
        body.put("restarts", snapshot.restarts());
        body.put("last_error", snapshot.lastError());
        body.put("timestamp", Timestamps.now());
        return Response.ok(body);
    }

    private Response start(Request request) throws HttpError {
        Map<String, Object> body = request.jsonObject(false);
        if (primaryPayloadKey.isPresent() && !body.containsKey(primaryPayloadKey.get())) {
            throw new HttpError(400, "Missing primary payload key '" + primaryPayloadKey.get() + "'");
        }
        lifecycle.start(new Payload(body));
        return Response.message("start initiated");
    }

    private Response update(Request request) throws HttpError, InterruptedException {
        Map<String, Object> body = request.jsonObject(false);
        UpdateOutcome outcome = lifecycle.update(new Payload(body));
        return switch (outcome) {
            case UpdateOutcome.NotRunning notRunning -> Response.detail(400, "application not running");
            case UpdateOutcome.Failed failed -> Response.detail(500, failed.reason());
            case UpdateOutcome.Answered answered -> switch (answered.result()) {
                case APPLIED -> Response.message("update applied");
                case DECLINED -> Response.detail(409, "adapter declined update");
                case NOT_SUPPORTED -> Response.detail(409, "live-update not supported");
            };
        };
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
