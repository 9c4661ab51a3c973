package ccc.api;

import java.util.Map;
import java.util.Optional;

/**
 * A request body as the core received it: a JSON object whose values are maps, lists, strings,
 * numbers, booleans or null.
 *
 * @param values the parsed JSON object, unmodifiable
 * @since 0.1
 */
public record Payload(Map<String, Object> values) {

    public Payload {
        values = Values.immutableCopy(values);
    }

    /** A payload with the given entries. */
    public static Payload of(Map<String, ?> values) {
        return new Payload(Map.copyOf(values));
    }

    /** Whether the top-level key is present (its value may be null). */
    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** A value by key or dotted path into nested objects ({@code config.sim_users}). */
    public Optional<Object> find(String path) {
        return Values.find(values, path);
    }

    /** A value as a string, if present and not null; numbers and booleans are rendered as text. */
    public Optional<String> string(String path) {
        return find(path).map(String::valueOf);
    }

    /** A required string value. */
    public String require(String path) {
        return string(path).orElseThrow(() -> new IllegalArgumentException("payload lacks '" + path + "'"));
    }
}
