package ccc.core.traffic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.api.Payload;
import ccc.api.TrafficShape;
import ccc.core.config.CoreConfig;
import ccc.core.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrafficPlanTest {

    private static TrafficPlan plan(double defaultBandwidthMbps) {
        return new TrafficPlan(new CoreConfig.TrafficControlSection(true, "eth0", "bandwidth_limit_mbps", defaultBandwidthMbps,
                "latency_ms", 0, "jitter_ms", 0, "loss_percent", 0));
    }

    @Test
    void withNoDefaultAndNoPayloadKeyNothingIsShapedAsInThePythonCore() throws Exception {
        assertEquals(new TrafficShape(0, 0, 0, 0), plan(0).forStart(new Payload(Map.of("flowfile", "a"))));
    }

    @Test
    void aPayloadBandwidthOfZeroMeansNoLimitEvenOverADefault() throws Exception {
        assertEquals(new TrafficShape(0, 20, 0, 0), plan(100).forStart(new Payload(Map.of("bandwidth_limit_mbps", 0, "latency_ms", 20))));
        assertEquals(new TrafficShape(0, 0, 0, 0), plan(100).forStart(new Payload(Map.of("bandwidth_limit_mbps", "0"))));
        assertEquals(new TrafficShape(0, 5, 0, 0),
                plan(0).changeFor(new Payload(Map.of("bandwidth_limit_mbps", 0))).orElseThrow()
                        .applyTo(java.util.Optional.of(new TrafficShape(8, 5, 0, 0))));
    }

    @Test
    void quotedNumbersAreReadAsNumbers() throws Exception {
        assertEquals(new TrafficShape(100, 20.5, 1, 0.5), plan(0).forStart(new Payload(Map.of(
                "bandwidth_limit_mbps", "100", "latency_ms", " 20.5", "jitter_ms", "1", "loss_percent", "5e-1"))));
        assertEquals(new TrafficShape(100, 0, 0, 0), plan(100).forStart(new Payload(Map.of())));
        assertEquals(new TrafficShape(CoreConfig.TrafficControlSection.MIN_BANDWIDTH_MBPS, 0, 0, 0),
                plan(0).forStart(new Payload(Map.of("bandwidth_limit_mbps", 0.1))));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "{\"bandwidth_limit_mbps\": 0.001}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a number out of that range",
            "{\"bandwidth_limit_mbps\": \"0.05\"}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a numeric string out of that range",
            "{\"bandwidth_limit_mbps\": -5}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a number out of that range",
            "{\"bandwidth_limit_mbps\": 100001}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a number out of that range",
            "{\"bandwidth_limit_mbps\": \"fast\"}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a string that is not a number",
            "{\"bandwidth_limit_mbps\": \"NaN\"}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a string that is not a number",
            "{\"bandwidth_limit_mbps\": \"8d\"}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a string that is not a number",
            "{\"bandwidth_limit_mbps\": \"0x1p3\"}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got a string that is not a number",
            "{\"bandwidth_limit_mbps\": null}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got null",
            "{\"latency_ms\": \"Infinity\"}|payload key 'latency_ms' must be a number from 0 to 60000, got a string that is not a number",
            "{\"loss_percent\": 150}|payload key 'loss_percent' must be a number from 0 to 100, got a number out of that range",
            "{\"bandwidth_limit_mbps\": {\"password\": \"Nested-Secret-Pw-77\"}}|payload key 'bandwidth_limit_mbps' must be 0 (no limit) or a number from 0.1 to 100000, got an object",
            "{\"jitter_ms\": [1]}|payload key 'jitter_ms' must be a number from 0 to 60000, got an array",
    })
    void valuesOutOfRangeAreRefusedNamingTheKey(String json, String message) throws Exception {
        var payload = new Payload(Json.readObject(json.getBytes(StandardCharsets.UTF_8)));
        var refused = assertThrows(TrafficPlan.InvalidValue.class, () -> plan(0).forStart(payload));
        assertEquals(message, refused.getMessage());
        var alsoOnUpdate = assertThrows(TrafficPlan.InvalidValue.class, () -> plan(0).changeFor(payload));
        assertEquals(message, alsoOnUpdate.getMessage());
    }
}
