package ccc.core.events;

import ccc.api.TrafficShape;
import ccc.api.WorkloadExit;
import ccc.core.lifecycle.ControlRequest;
import ccc.core.lifecycle.LifecycleObserver;
import ccc.core.lifecycle.Snapshot;
import ccc.core.lifecycle.UpdateOutcome;
import ccc.core.os.Signals;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns what the lifecycle and the traffic shaper report into events on an {@link EventHub}: the
 * one place that decides what each event of {@code /api/events} holds.
 */
public final class LifecycleEvents implements LifecycleObserver {

    /** The last lines of each stream an exit event carries. */
    public static final int EXIT_LINES = 5;

    private final EventHub hub;

    public LifecycleEvents(EventHub hub) {
        this.hub = hub;
    }



    @Override
    public void published(Snapshot snapshot) {
        hub.publish(EventType.PHASE, snapshot.wireFields());
    }

    @Override
    public void exited(WorkloadExit exit) {
        var fields = new LinkedHashMap<String, Object>();
        OptionalInt code = exit.exitCode() >= 0 ? OptionalInt.of(exit.exitCode()) : OptionalInt.empty();
        fields.put("exit_code", code.isPresent() ? code.getAsInt() : null);
        fields.put("exit_signal", Snapshot.exitSignal(code).orElse(null));
        fields.put("requested", exit.requested());
        fields.put("stdout", last(exit.stdoutTail()));
        fields.put("stderr", last(exit.stderrTail()));
        hub.publish(EventType.EXIT, fields);
    }

    private static List<String> last(List<String> lines) {
        return lines.subList(Math.max(0, lines.size() - EXIT_LINES), lines.size());
    }

    @Override
    public void restartScheduled(int attempt, Duration delay) {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("attempt", attempt);
        fields.put("delay_ms", delay.toMillis());
        hub.publish(EventType.RESTART, fields);
    }

    @Override
    public void accepted(ControlRequest request) {
        var fields = new LinkedHashMap<String, Object>();
        switch (request) {
            case ControlRequest.Start start -> fields.put("request", "start");
            case ControlRequest.Stop stop -> {
                fields.put("request", "stop");
                fields.put("force", stop.force());
                fields.put("stopping", stop.stopping());
            }
            case ControlRequest.Update update -> {
                fields.put("request", "update");
                switch (update.outcome()) {
                    case UpdateOutcome.Answered answered -> fields.put("result", answered.result().name().toLowerCase(java.util.Locale.ROOT));
                    case UpdateOutcome.Failed failed -> {
                        fields.put("result", "failed");
                        fields.put("reason", failed.reason());
                    }
                    case UpdateOutcome.NotRunning notRunning -> fields.put("result", "not_running");
                }
            }
            case ControlRequest.Signal signal -> {
                fields.put("request", "signal");
                fields.put("signal", Signals.name(signal.number()).orElse(Integer.toString(signal.number())));
            }
        }
        hub.publish(EventType.REQUEST, fields);
    }

    @Override
    public void shuttingDown(Duration grace) {
        hub.publish(EventType.SHUTDOWN, Map.of("grace_seconds", grace.toMillis() / 1000.0));
    }

    /** The traffic shape in force changed: {@code shape}, or none when the core's shaping was removed. */
    public void trafficChanged(Optional<TrafficShape> shape) {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("shaped", shape.isPresent());
        shape.ifPresent(applied -> {
            fields.put("bandwidth_mbps", applied.bandwidthMbps());
            fields.put("latency_ms", applied.latencyMs());
            fields.put("jitter_ms", applied.jitterMs());
            fields.put("loss_percent", applied.lossPercent());
        });
        hub.publish(EventType.TRAFFIC, fields);
    }
}
