package ccc.core.sdk;

import ccc.core.lifecycle.Snapshot;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The body of the SDK's {@code GET /healthz}: {@code {"status", "reason", "uptime_seconds"}}, the
 * status mapped from {@code app_status} ({@code initializing} is the SDK's {@code starting}).
 */
public final class SdkHealth {

    private SdkHealth() {
    }

    /** The SDK's status for an {@code app_status}. */
    public static String status(Snapshot snapshot) {
        return switch (snapshot.appStatus()) {
            case "initializing" -> "starting";
            case "running" -> "running";
            case "stopped" -> "stopped";
            default -> "error";
        };
    }

    /**
     * What {@code reason} says: {@code last_error} in error, the phase in words otherwise, and
     * nothing while the workload runs unless the last configuration reload was refused.
     *
     * @param reloadRefused why the last reload was refused, while no later one succeeded
     */
    public static String reason(Snapshot snapshot, Optional<String> reloadRefused) {
        return switch (snapshot.phase()) {
            case IDLE -> "waiting for the first start";
            case STARTING -> "starting the workload";
            case BACKOFF -> "restarting after the workload ended: " + snapshot.lastError()
                    .orElse("exit code " + (snapshot.exitCode().isPresent() ? snapshot.exitCode().getAsInt() : "unknown"));
            case RUNNING -> reloadRefused.map(why -> "configuration reload refused, the workload runs as before: " + why).orElse("");
            case STOPPING -> "stopping the workload";
            case STOPPED -> "stopped on request";
            case EXITED -> "the workload exited with code 0";
            case FAILED -> snapshot.lastError().orElse("failed");
        };
    }

    /** The whole body. */
    public static Map<String, Object> body(Snapshot snapshot, Optional<String> reloadRefused, Duration uptime) {
        var body = new LinkedHashMap<String, Object>();
        body.put("status", status(snapshot));
        body.put("reason", reason(snapshot, reloadRefused));
        body.put("uptime_seconds", oneDecimal(uptime));
        return body;
    }

    /** Seconds with one decimal, written plainly however long the uptime ({@code 12.3}, never {@code 1.2E7}). */
    static BigDecimal oneDecimal(Duration duration) {
        return BigDecimal.valueOf(duration.toMillis()).movePointLeft(3).setScale(1, RoundingMode.HALF_UP);
    }
}
