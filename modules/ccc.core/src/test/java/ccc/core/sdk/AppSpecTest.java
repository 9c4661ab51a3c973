package ccc.core.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import ccc.core.json.Json;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code appspec.json} skeleton: identity and SDK port from the configuration, the schema from what a start requires. */
class AppSpecTest {

    private static CoreConfig config(String yaml) throws ConfigException {
        return new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "config.yaml");
    }

    /** The skeleton as Showrunner would read it: written as JSON and parsed back. */
    private static Map<String, Object> written(CoreConfig config, String adapterName) throws Exception {
        return Json.readObject(Json.writeIndented(AppSpec.skeleton(config, adapterName, "1.2.3")));
    }

    @Test
    void theExampleAdaptersConfigurationGivesItsPrimaryKeyAsTheOneRequiredString() throws Exception {
        var spec = written(config("""
                adapter:
                  class: ccc.adapter.example.ExampleAdapter
                  primary_payload_key: flowfile
                """), "ccc.adapter.example.ExampleAdapter");
        assertEquals(List.of("$schema", "id", "name", "description", "category", "icon", "lifecycle", "image", "sdk", "config_schema", "ui"),
                List.copyOf(spec.keySet()));
        assertEquals("showrunner/v1", spec.get("$schema"));
        assertEquals("ccc-adapter-example-exampleadapter", spec.get("id"));
        assertEquals("ccc.adapter.example.ExampleAdapter", spec.get("name"));
        assertEquals("long-running", spec.get("lifecycle"));
        assertEquals(Map.of("name", ""), spec.get("image"));
        assertEquals(Map.of("version", "0.1", "metrics_port", 9090, "health_path", "/healthz", "metrics_path", "/metrics"), spec.get("sdk"));
        assertEquals(Map.of("type", "object",
                "properties", Map.of("flowfile", Map.of("type", "string",
                        "description", "the adapter's primary payload key (adapter.primary_payload_key)")),
                "required", List.of("flowfile"),
                "additionalProperties", true), spec.get("config_schema"));
        assertEquals(Map.of("sections", List.of(), "card_fields", Map.of()), spec.get("ui"));
    }

    @Test
    void placeholdersBecomeRequiredKeysAndDottedOnesNestedObjects() throws Exception {
        var spec = written(config("""
                adapter:
                  primary_payload_key: flowfile
                process_management:
                  enabled: true
                  command: [my-app, --flows, "${flowfile}", "--users=${config.sim_users}", "$$HOME", "$1", "${config.mode}-$region"]
                  env: {TARGET: "${target}", MODE: "${config.mode}"}
                traffic_control:
                  enabled: true
                  bandwidth_mbps_key: mbps
                showrunner_sdk:
                  port: 9191
                  app_name: Traffic Generator
                  app_version: 2.0.0
                  lifecycle: ephemeral
                """), "process_management");
        assertEquals("traffic-generator", spec.get("id"));
        assertEquals("Traffic Generator", spec.get("name"));
        assertEquals("ephemeral", spec.get("lifecycle"));
        assertEquals(9191, ((Map<?, ?>) spec.get("sdk")).get("metrics_port"));
        var schema = (Map<?, ?>) spec.get("config_schema");
        assertEquals(List.of("flowfile", "config", "region", "target"), schema.get("required"));
        var properties = (Map<?, ?>) schema.get("properties");
        assertEquals(List.of("flowfile", "config", "region", "target", "mbps", "latency_ms", "jitter_ms", "loss_percent"),
                List.copyOf(properties.keySet()));
        assertEquals("the adapter's primary payload key (adapter.primary_payload_key); fills ${flowfile} in process_management.command[2]",
                ((Map<?, ?>) properties.get("flowfile")).get("description"));
        assertEquals(Map.of("type", "object",
                "properties", Map.of(
                        "sim_users", Map.of("type", "string", "description", "fills ${config.sim_users} in process_management.command[3]"),
                        "mode", Map.of("type", "string",
                                "description", "fills ${config.mode} in process_management.command[6]; fills ${config.mode} in process_management.env.MODE")),
                "required", List.of("sim_users", "mode"),
                "additionalProperties", true), properties.get("config"));
        assertEquals(Map.of("type", "number", "minimum", 0, "description", "traffic_control: bandwidth limit in Mbit/s, 0 for none"),
                properties.get("mbps"));
    }

    @Test
    void aProcessManagementSectionThatIsOffAddsNothing() throws Exception {
        var spec = written(config("""
                adapter: {class: a.B}
                process_management: {enabled: false, command: ["${unused}"]}
                """), "a.B");
        assertEquals(Map.of("type", "object", "properties", Map.of(), "required", List.of(), "additionalProperties", true),
                spec.get("config_schema"));
    }

    @Test
    void idsAreLowerCaseWithHyphens() {
        assertEquals("my-app-v2", AppSpec.id("  My App (v2)! "));
        assertEquals("app", AppSpec.id("***"));
    }
}
