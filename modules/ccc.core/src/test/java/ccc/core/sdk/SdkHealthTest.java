package ccc.core.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ccc.core.json.Json;
import ccc.core.lifecycle.Failure;
import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code /healthz}: the SDK's status from the lifecycle's, its reason, and the uptime's one decimal. */
class SdkHealthTest {

    private static Snapshot snapshot(Phase phase, OptionalInt exitCode, List<Failure> failures) {
        return new Snapshot(phase, "test.Adapter", phase == Phase.RUNNING ? OptionalLong.of(42) : OptionalLong.empty(),
                Optional.of(Instant.EPOCH), Optional.empty(), exitCode, 0, failures);
    }

    private static Snapshot snapshot(Phase phase) {
        return snapshot(phase, OptionalInt.empty(), List.of());
    }

    @ParameterizedTest
    @CsvSource({
        "IDLE, starting, waiting for the first start",
        "STARTING, starting, starting the workload",
        "RUNNING, running, ''",
        "STOPPING, running, stopping the workload",
        "STOPPED, stopped, stopped on request",
        "EXITED, stopped, the workload exited with code 0",
        "FAILED, error, failed"})
    void everyPhaseMapsToOneOfTheSdksFourStatuses(Phase phase, String status, String reason) {
        assertEquals(status, SdkHealth.status(snapshot(phase)));
        assertEquals(reason, SdkHealth.reason(snapshot(phase), Optional.empty()));
    }

    @Test
    void anErrorGivesLastErrorAsTheReason() {
        var failed = snapshot(Phase.FAILED, OptionalInt.of(3), List.of(Failure.of(Failure.Kind.WORKLOAD_EXIT, "workload exited with code 3")));
        assertEquals("error", SdkHealth.status(failed));
        assertEquals("workload exited with code 3", SdkHealth.reason(failed, Optional.of("an older reload problem")));
        var refused = snapshot(Phase.FAILED, OptionalInt.empty(), List.of(Failure.of(Failure.Kind.START_REFUSED, "/config/app.json is not valid JSON")));
        assertEquals("/config/app.json is not valid JSON", SdkHealth.reason(refused, Optional.empty()));
    }

    @Test
    void aBackoffIsStartingWithWhyTheWorkloadEnded() {
        var backoff = snapshot(Phase.BACKOFF, OptionalInt.of(1), List.of(Failure.of(Failure.Kind.WORKLOAD_EXIT, "workload exited with code 1")));
        assertEquals("starting", SdkHealth.status(backoff));
        assertEquals("restarting after the workload ended: workload exited with code 1", SdkHealth.reason(backoff, Optional.empty()));
        assertEquals("restarting after the workload ended: exit code 0",
                SdkHealth.reason(snapshot(Phase.BACKOFF, OptionalInt.of(0), List.of()), Optional.empty()));
    }

    @Test
    void aRefusedReloadShowsWhileTheWorkloadRunsOnAsBefore() {
        assertEquals("configuration reload refused, the workload runs as before: /config/app.json is not valid JSON at line 1, column 2",
                SdkHealth.reason(snapshot(Phase.RUNNING), Optional.of("/config/app.json is not valid JSON at line 1, column 2")));
        assertEquals("running", SdkHealth.status(snapshot(Phase.RUNNING)));
    }

    @Test
    void theBodyIsTheSdksWithTheUptimeToOneDecimal() {
        assertEquals("{\"status\":\"running\",\"reason\":\"\",\"uptime_seconds\":12.3}", body(Duration.ofMillis(12_345)));
        assertEquals("{\"status\":\"running\",\"reason\":\"\",\"uptime_seconds\":0.0}", body(Duration.ZERO));
        assertEquals("{\"status\":\"running\",\"reason\":\"\",\"uptime_seconds\":12.4}", body(Duration.ofMillis(12_350)));
        // Written plainly however long the core has run: 200 days is not 1.728E7.
        assertEquals("{\"status\":\"running\",\"reason\":\"\",\"uptime_seconds\":17280000.0}", body(Duration.ofDays(200)));
    }

    private static String body(Duration uptime) {
        return new String(Json.write(SdkHealth.body(snapshot(Phase.RUNNING), Optional.empty(), uptime)), StandardCharsets.UTF_8);
    }
}
