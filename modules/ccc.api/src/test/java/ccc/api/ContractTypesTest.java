package ccc.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The value types of the adapter contract behave as their Javadoc promises. */
class ContractTypesTest {

    @Test
    void aPayloadIsADeepImmutableCopy() {
        var nested = new HashMap<String, Object>();
        nested.put("sim_users", 40);
        var list = new ArrayList<Object>(List.of("a"));
        var values = new LinkedHashMap<String, Object>();
        values.put("config", nested);
        values.put("targets", list);
        values.put("nothing", null);
        var payload = new Payload(values);
        nested.put("sim_users", 41);
        list.add("b");
        assertEquals(Optional.of(40), payload.find("config.sim_users"));
        assertEquals(List.of("a"), payload.values().get("targets"));
        assertThrows(UnsupportedOperationException.class, () -> payload.values().put("x", 1));
        assertTrue(payload.has("nothing"), "a key with a null value is present");
        assertEquals(Optional.empty(), payload.find("nothing"));
        assertEquals(Optional.of("40"), payload.string("config.sim_users"));
        assertThrows(IllegalArgumentException.class, () -> payload.require("missing"));
    }

    @Test
    void aDottedKeyThatExistsAsSuchWinsOverThePath() {
        var payload = Payload.of(Map.of("a.b", "flat", "a", Map.of("b", "nested")));
        assertEquals(Optional.of("flat"), payload.find("a.b"));
    }

    @Test
    void adapterConfigReadsTheCoresOwnKeys() {
        var config = new AdapterConfig(Map.of("class", "x.Y", "run_as_user", "app_user", "primary_payload_key", "flowfile",
                "limits", Map.of("rate", 5)));
        assertEquals(Optional.of("app_user"), config.runAsUser());
        assertEquals(Optional.of("flowfile"), config.primaryPayloadKey());
        assertEquals(Optional.of("5"), config.string("limits.rate"));
        assertEquals(Optional.empty(), new AdapterConfig(null).runAsUser());
    }

    @Test
    void aLaunchCopiesItsPartsAndNeedsAProgram() {
        var command = new ArrayList<>(List.of("sleep", "1"));
        var launch = Launch.of(command).withEnvironment("A", "1").in(Path.of("/tmp"));
        command.add("2");
        assertEquals(List.of("sleep", "1"), launch.command());
        assertEquals(Map.of("A", "1"), launch.environment());
        assertEquals(Optional.of(Path.of("/tmp")), launch.workingDirectory());
        assertThrows(IllegalArgumentException.class, () -> Launch.of(List.of()));
    }

    @Test
    void aTrafficShapeRefusesValuesOutOfRange() {
        assertEquals(new TrafficShape(8, 0, 0, 0), TrafficShape.bandwidth(8));
        assertFalse(TrafficShape.bandwidth(8).emulatesNetwork());
        assertTrue(new TrafficShape(0, 40, 0, 0).emulatesNetwork());
        assertThrows(IllegalArgumentException.class, () -> new TrafficShape(-1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new TrafficShape(0, 0, 0, 101));
        assertThrows(IllegalArgumentException.class, () -> new TrafficShape(Double.NaN, 0, 0, 0));
    }

    @Test
    void metricFamiliesNameTheirSamples() {
        assertEquals("requests_total", MetricFamily.counter("requests", "Requests.", 3).samples().getFirst().name());
        assertEquals("queue", MetricFamily.gauge("queue", null, 1).samples().getFirst().name());
        assertEquals("", MetricFamily.gauge("queue", null, 1).help());
    }

    @Test
    void aWorkloadExitCopiesItsTails() {
        var tail = new ArrayList<>(List.of("last"));
        var exit = new WorkloadExit(3, false, tail, List.of());
        tail.add("more");
        assertEquals(List.of("last"), exit.stdoutTail());
    }

    @Test
    void aPollingWorkloadEndsWhenItsLivenessSaysSo() throws Exception {
        var alive = new AtomicBoolean(true);
        Workload workload = Workload.polling(alive::get, Duration.ofMillis(5), () -> 7);
        assertFalse(workload.exit().toCompletableFuture().isDone());
        alive.set(false);
        assertEquals(7, workload.exit().toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertThrows(IllegalArgumentException.class, () -> Workload.polling(alive::get, Duration.ZERO, () -> 0));
    }

    @Test
    void aProcessWorkloadReportsItsPidAndExitCode() throws Exception {
        Process process = new ProcessBuilder("sh", "-c", "exit 4").start();
        Workload workload = Workload.of(process);
        assertEquals(process.pid(), workload.pid().getAsLong());
        assertEquals(4, workload.exit().toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertFalse(Workload.untracked().exit().toCompletableFuture().isDone());
    }

    @Test
    void anAdapterNeedsOnlyStartAndStop() throws Exception {
        Adapter minimal = new Adapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) {
                return Workload.untracked();
            }

            @Override
            public void stop() {
            }
        };
        assertEquals(UpdateResult.NOT_SUPPORTED, minimal.update(Payload.of(Map.of())));
        assertEquals(Map.of(), minimal.metrics());
        assertEquals(List.of(), minimal.prometheusMetrics());
        var payload = Payload.of(Map.of("k", "v"));
        assertEquals(payload, minimal.beforeTrafficControl(payload));
    }

    @Test
    void theModuleDependsOnJavaBaseAlone() {
        var requires = Adapter.class.getModule().getDescriptor().requires().stream().map(r -> r.name()).toList();
        assertEquals(List.of("java.base"), requires);
    }
}
