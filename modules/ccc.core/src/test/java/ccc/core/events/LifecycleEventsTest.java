package ccc.core.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ccc.api.TrafficShape;
import ccc.api.UpdateResult;
import ccc.api.WorkloadExit;
import ccc.core.ctl.ServerSentEvents;
import ccc.core.json.Json;
import ccc.core.lifecycle.ControlRequest;
import ccc.core.lifecycle.UpdateOutcome;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** What each event of {@code /api/events} holds, as {@link LifecycleEvents} renders what the lifecycle and the shaper report. */
class LifecycleEventsTest {

    private final EventHub hub = new EventHub(1);
    private final LifecycleEvents events = new LifecycleEvents(hub);

    /** The events published so far: type, then data without its timestamp. */
    private List<String> published() throws Exception {
        var subscription = hub.subscribe(EnumSet.allOf(EventType.class), OptionalLong.of(0));
        var bytes = new ByteArrayOutputStream();
        subscription.next(Duration.ZERO).frames().forEach(bytes::writeBytes);
        var rendered = new ArrayList<String>();
        try (var stream = new ServerSentEvents(new ByteArrayInputStream(bytes.toByteArray()))) {
            for (var event = stream.next(); event.isPresent(); event = stream.next()) {
                Map<String, Object> data = new LinkedHashMap<>(Json.readObject(event.get().data().getBytes()));
                data.remove("timestamp");
                rendered.add(event.get().type() + " " + new String(Json.write(data)));
            }
        }
        return rendered;
    }

    @Test
    void eachReportBecomesItsEvent() throws Exception {
        var stdout = new ArrayList<String>();
        for (int i = 0; i < 8; i++) {
            stdout.add("out " + i);
        }
        events.exited(new WorkloadExit(143, true, stdout, List.of("err")));
        events.exited(new WorkloadExit(-1, false, List.of(), List.of()));
        events.restartScheduled(2, Duration.ofMillis(400));
        events.accepted(new ControlRequest.Start());
        events.accepted(new ControlRequest.Stop(true, false));
        events.accepted(new ControlRequest.Update(new UpdateOutcome.Answered(UpdateResult.NOT_SUPPORTED)));
        events.accepted(new ControlRequest.Update(new UpdateOutcome.Failed("adapter update timed out")));
        events.accepted(new ControlRequest.Signal(10));
        events.trafficChanged(Optional.of(new TrafficShape(8, 20, 5, 0.5)));
        events.trafficChanged(Optional.empty());
        events.shuttingDown(Duration.ofSeconds(25));
        assertEquals(List.of(
                "exit {\"exit_code\":143,\"exit_signal\":\"TERM\",\"requested\":true,\"stdout\":[\"out 3\",\"out 4\",\"out 5\",\"out 6\",\"out 7\"],\"stderr\":[\"err\"]}",
                "exit {\"exit_code\":null,\"exit_signal\":null,\"requested\":false,\"stdout\":[],\"stderr\":[]}",
                "restart {\"attempt\":2,\"delay_ms\":400}",
                "request {\"request\":\"start\"}",
                "request {\"request\":\"stop\",\"force\":true,\"stopping\":false}",
                "request {\"request\":\"update\",\"result\":\"not_supported\"}",
                "request {\"request\":\"update\",\"result\":\"failed\",\"reason\":\"adapter update timed out\"}",
                "request {\"request\":\"signal\",\"signal\":\"USR1\"}",
                "traffic {\"shaped\":true,\"bandwidth_mbps\":8.0,\"latency_ms\":20.0,\"jitter_ms\":5.0,\"loss_percent\":0.5}",
                "traffic {\"shaped\":false}",
                "shutdown {\"grace_seconds\":25.0}"), published());
    }
}
