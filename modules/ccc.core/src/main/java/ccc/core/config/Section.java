package ccc.core.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** One mapping of the YAML document with its key path, reading typed values with clear errors. */
final class Section {

    private final String path;
    private final Map<String, Object> values;

    private Section(String path, Map<String, Object> values) {
        this.path = path;
        this.values = values;
    }

    static Section root(Map<String, Object> values) {
        return new Section("", values);
    }

    String path() {
        return path;
    }

    Map<String, Object> values() {
        return values;
    }

    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return values.get(key) != null;
    }

    /** A nested mapping; an absent or null key reads as an empty mapping. */
    @SuppressWarnings("unchecked")
    Section section(String key) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return new Section(pathOf(key), Map.of());
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw ConfigException.at(pathOf(key), "expected a mapping, got " + describe(value));
        }
        for (Object name : map.keySet()) {
            if (!(name instanceof String)) {
                throw ConfigException.at(pathOf(key), "keys must be strings, got " + describe(name));
            }
        }
        return new Section(pathOf(key), (Map<String, Object>) map);
    }

    Optional<String> string(String key) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof String text) {
            if (text.isBlank()) {
                throw ConfigException.at(pathOf(key), "must not be empty");
            }
            return Optional.of(text);
        }
        if (value instanceof Number || value instanceof Boolean) {
            return Optional.of(String.valueOf(value));
        }
        throw ConfigException.at(pathOf(key), "expected a string, got " + describe(value));
    }

    String string(String key, String fallback) throws ConfigException {
        return string(key).orElse(fallback);
    }

    boolean bool(String key, boolean fallback) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Boolean flag) {
            return flag;
        }
        throw ConfigException.at(pathOf(key), "expected true or false, got " + describe(value));
    }

    long integer(String key, long fallback, long min, long max) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Integer || value instanceof Long || value instanceof java.math.BigInteger) {
            var number = new java.math.BigInteger(value.toString());
            if (number.compareTo(java.math.BigInteger.valueOf(min)) >= 0
                    && number.compareTo(java.math.BigInteger.valueOf(max)) <= 0) {
                return number.longValue();
            }
        }
        throw ConfigException.at(pathOf(key), "expected a whole number from " + min + " to " + max + ", got " + describe(value));
    }

    /** A number; a quoted one ({@code "100"}) too, as the Python core read it. */
    double number(String key, double fallback, double min, double max) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return fallback;
        }
        Object parsed = value;
        if (value instanceof String text) {
            try {
                parsed = new java.math.BigDecimal(text.strip());
            } catch (NumberFormatException notANumber) {
                // Refused below with the text as it was written.
            }
        }
        if (parsed instanceof Number number && Double.isFinite(number.doubleValue())
                && number.doubleValue() >= min && number.doubleValue() <= max) {
            return number.doubleValue();
        }
        throw ConfigException.at(pathOf(key), "expected a number from " + min + " to " + max + ", got " + describe(value));
    }

    /** A list of strings; numbers are rendered as text because YAML reads {@code 8192} as a number. */
    List<String> stringList(String key) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw ConfigException.at(pathOf(key), "expected a list, got " + describe(value));
        }
        var strings = new ArrayList<String>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object element = list.get(i);
            if (!(element instanceof String || element instanceof Number || element instanceof Boolean)) {
                throw ConfigException.at(pathOf(key) + "[" + i + "]", "expected a string, got " + describe(element));
            }
            strings.add(String.valueOf(element));
        }
        return List.copyOf(strings);
    }

    /** A list of argv lists, as {@code privileged_commands.pre_start}. */
    List<List<String>> commandList(String key) throws ConfigException {
        Object value = values.get(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw ConfigException.at(pathOf(key), "expected a list of commands, got " + describe(value));
        }
        var commands = new ArrayList<List<String>>(list.size());
        for (int i = 0; i < list.size(); i++) {
            var holder = new LinkedHashMap<String, Object>();
            holder.put(key + "[" + i + "]", list.get(i));
            List<String> argv = new Section(path, holder).stringList(key + "[" + i + "]");
            if (argv.isEmpty()) {
                throw ConfigException.at(pathOf(key) + "[" + i + "]", "a command needs at least a program name");
            }
            commands.add(argv);
        }
        return List.copyOf(commands);
    }

    /** Keys present here that the schema does not know, for a warning. */
    Set<String> unknownKeys(Set<String> known) {
        var unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(known);
        return unknown;
    }

    static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map<?, ?>) {
            return "a mapping";
        }
        if (value instanceof List<?>) {
            return "a list";
        }
        if (value instanceof String text) {
            return "'" + text + "'";
        }
        return String.valueOf(value);
    }
}
