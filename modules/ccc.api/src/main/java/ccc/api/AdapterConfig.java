package ccc.api;

import java.util.Map;
import java.util.Optional;

/**
 * The adapter's static configuration: the {@code adapter:} section of {@code config.yaml},
 * including the keys the core reads itself ({@code class}, {@code primary_payload_key},
 * {@code run_as_user}) and any further keys of the adapter's own.
 *
 * @param values the whole section as parsed YAML: maps, lists, strings, numbers, booleans
 * @since 0.1
 */
public record AdapterConfig(Map<String, Object> values) {

    public AdapterConfig {
        values = Values.immutableCopy(values);
    }

    /** The user the workload runs as, when the core runs as root. */
    public Optional<String> runAsUser() {
        return string("run_as_user");
    }

    /** The key that must be present in every {@code /api/start} body, if any. */
    public Optional<String> primaryPayloadKey() {
        return string("primary_payload_key");
    }

    /** A value of this section by key or dotted path, if present and not null. */
    public Optional<Object> find(String path) {
        return Values.find(values, path);
    }

    /** A value as a string, if present and not null; numbers and booleans are rendered as text. */
    public Optional<String> string(String path) {
        return find(path).map(String::valueOf);
    }
}
