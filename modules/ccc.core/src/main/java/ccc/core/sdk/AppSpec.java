package ccc.core.sdk;

import ccc.core.config.CoreConfig;
import ccc.core.config.PayloadTemplate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A skeleton of Showrunner's {@code .showrunner/appspec.json} for a configuration
 * ({@code ccc appspec}): the app's identity, lifecycle and SDK port from {@code showrunner_sdk},
 * and a JSON Schema of the configuration object built from what the core itself requires of a
 * start payload. The catalogue entries (description, category, icon, image, ui) are left empty
 * for the author to complete.
 */
public final class AppSpec {

    /** The appspec format this skeleton follows. */
    public static final String SCHEMA = "showrunner/v1";
    /** The version of the SDK contract the core speaks: showrunner-sdk 0.1's. */
    public static final String SDK_VERSION = "0.1";

    private AppSpec() {
    }

    /** The skeleton, as an ordered map ready to be written as JSON. */
    public static Map<String, Object> skeleton(CoreConfig config, String adapterName, String coreVersion) {
        var sdk = config.showrunnerSdk();
        var app = AppIdentity.of(sdk, adapterName, coreVersion);
        var spec = new LinkedHashMap<String, Object>();
        spec.put("$schema", SCHEMA);
        spec.put("id", id(app.name()));
        spec.put("name", app.name());
        spec.put("description", "");
        spec.put("category", "");
        spec.put("icon", "");
        spec.put("lifecycle", sdk.lifecycle().wireName());
        spec.put("image", ordered("name", ""));
        var contract = new LinkedHashMap<String, Object>();
        contract.put("version", SDK_VERSION);
        contract.put("metrics_port", sdk.port());
        contract.put("health_path", ShowrunnerSdk.HEALTH_PATH);
        contract.put("metrics_path", ShowrunnerSdk.METRICS_PATH);
        spec.put("sdk", contract);
        spec.put("config_schema", configSchema(config));
        var ui = new LinkedHashMap<String, Object>();
        ui.put("sections", List.of());
        ui.put("card_fields", Map.of());
        spec.put("ui", ui);
        return spec;
    }

    /** A catalogue id from a name: lower case, each run of other characters one hyphen. */
    static String id(String name) {
        String id = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return id.isEmpty() ? "app" : id;
    }

    /**
     * The configuration object's schema: the primary payload key and every placeholder of
     * {@code process_management}'s command and environment, which a start cannot do without
     * (strings, required; a dotted placeholder is a key of a nested object), and the traffic
     * shaping keys when {@code traffic_control} is enabled (numbers, optional). Other keys are
     * allowed: what an adapter reads of the payload is the author's to add.
     */
    static Map<String, Object> configSchema(CoreConfig config) {
        var root = new ObjectSchema();
        config.adapter().primaryPayloadKey().ifPresent(key ->
                root.property(key, true).describe("the adapter's primary payload key (adapter.primary_payload_key)"));
        var process = config.processManagement();
        if (process.enabled()) {
            for (int i = 0; i < process.command().size(); i++) {
                addPlaceholders(root, process.command().get(i), "process_management.command[" + i + "]");
            }
            for (var variable : new java.util.TreeMap<>(process.environment()).entrySet()) {
                addPlaceholders(root, variable.getValue(), "process_management.env." + variable.getKey());
            }
        }
        var shaping = config.trafficControl();
        if (shaping.enabled()) {
            root.property(shaping.bandwidthMbpsKey(), false).number("traffic_control: bandwidth limit in Mbit/s, 0 for none");
            root.property(shaping.latencyMsKey(), false).number("traffic_control: added latency in milliseconds");
            root.property(shaping.jitterMsKey(), false).number("traffic_control: jitter in milliseconds");
            root.property(shaping.lossPercentKey(), false).number("traffic_control: packet loss in percent");
        }
        return root.toJson();
    }

    private static void addPlaceholders(ObjectSchema root, PayloadTemplate template, String where) {
        for (String key : template.keys()) {
            String[] path = key.split("\\.");
            ObjectSchema parent = root;
            for (int i = 0; i < path.length - 1; i++) {
                parent = parent.property(path[i], true).object();
            }
            parent.property(path[path.length - 1], true).describe("fills ${" + key + "} in " + where);
        }
    }

    /** A property's schema as it is built: a string by default, or a number, or an object of further properties. */
    private static final class PropertySchema {
        private String type = "string";
        private final List<String> descriptions = new ArrayList<>();
        private ObjectSchema object;

        PropertySchema describe(String description) {
            if (!descriptions.contains(description)) {
                descriptions.add(description);
            }
            return this;
        }

        void number(String description) {
            type = "number";
            describe(description);
        }

        ObjectSchema object() {
            if (object == null) {
                object = new ObjectSchema();
                type = "object";
            }
            return object;
        }

        Map<String, Object> toJson() {
            var json = object != null ? object.toJson() : ordered("type", type);
            if (type.equals("number")) {
                json.put("minimum", 0);
            }
            if (!descriptions.isEmpty()) {
                json.put("description", String.join("; ", descriptions));
            }
            return json;
        }
    }

    /** An object's schema as it is built: its properties in the order first met, and which are required. */
    private static final class ObjectSchema {
        private final Map<String, PropertySchema> properties = new LinkedHashMap<>();
        private final List<String> required = new ArrayList<>();

        PropertySchema property(String name, boolean isRequired) {
            if (isRequired && !required.contains(name)) {
                required.add(name);
            }
            return properties.computeIfAbsent(name, ignored -> new PropertySchema());
        }

        Map<String, Object> toJson() {
            var json = ordered("type", "object");
            var described = new LinkedHashMap<String, Object>();
            properties.forEach((name, property) -> described.put(name, property.toJson()));
            json.put("properties", described);
            json.put("required", List.copyOf(required));
            json.put("additionalProperties", true);
            return json;
        }
    }

    private static LinkedHashMap<String, Object> ordered(String key, Object value) {
        var map = new LinkedHashMap<String, Object>();
        map.put(key, value);
        return map;
    }
}
