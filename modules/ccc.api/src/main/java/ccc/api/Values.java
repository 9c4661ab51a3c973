package ccc.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Deep immutable copies and dotted-path lookups over parsed JSON and YAML values. */
final class Values {

    private Values() {
    }

    /** Copies nested maps and lists into unmodifiable ones; JSON null values are kept. */
    static Map<String, Object> immutableCopy(Map<String, ?> source) {
        if (source == null) {
            return Map.of();
        }
        var copy = new LinkedHashMap<String, Object>();
        source.forEach((key, value) -> copy.put(key, immutableValue(value)));
        return Collections.unmodifiableMap(copy);
    }

    @SuppressWarnings("unchecked")
    private static Object immutableValue(Object value) {
        if (value instanceof Map<?, ?> map) {
            return immutableCopy((Map<String, ?>) map);
        }
        if (value instanceof List<?> list) {
            var copy = new ArrayList<>(list.size());
            list.forEach(element -> copy.add(immutableValue(element)));
            return Collections.unmodifiableList(copy);
        }
        return value;
    }

    static Optional<Object> find(Map<String, Object> root, String path) {
        if (root.containsKey(path)) {
            return Optional.ofNullable(root.get(path));
        }
        Object current = root;
        for (String part : path.split("\\.", -1)) {
            if (!(current instanceof Map<?, ?> map) || !map.containsKey(part)) {
                return Optional.empty();
            }
            current = map.get(part);
        }
        return Optional.ofNullable(current);
    }
}
