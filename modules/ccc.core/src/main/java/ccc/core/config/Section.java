package ccc.core.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One mapping of the YAML document with its key path, reading typed values with clear errors.
 * It remembers which keys were read, so that every key no reader asked for, at any depth, can
 * be reported: the readers are the schema, and a key added to a reader is known at once.
 */
final class Section {

    private static final Pattern WHOLE_NUMBER = Pattern.compile("[+-]?[0-9]+");

    private final String path;
    private final Map<String, Object> values;
    private final Set<String> keysRead = new HashSet<>();
    private final Map<String, Section> children = new LinkedHashMap<>();
    private boolean anyKeyAccepted;

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
        return read(key) != null;
    }

    /** The value of {@code key}, which counts as known from now on. */
    private Object read(String key) {
        keysRead.add(key);
        return values.get(key);
    }

    /** Marks keys as known that a reader skips on some paths (an environment override, say). */
    void accept(String... keys) {
        keysRead.addAll(List.of(keys));
    }

    /** Marks every key here as known: the section is handed on whole, as {@code adapter:} is to the adapter. */
    void acceptAnyKey() {
        anyKeyAccepted = true;
    }

    /** The paths of the keys here and in the nested mappings read from here that no reader asked for. */
    List<String> unreadKeyPaths() {
        var unread = new ArrayList<String>();
        if (!anyKeyAccepted) {
            values.keySet().stream().filter(key -> !keysRead.contains(key)).sorted().map(this::pathOf).forEach(unread::add);
        }
        children.values().forEach(child -> unread.addAll(child.unreadKeyPaths()));
        return unread;
    }

    /** A nested mapping; an absent or null key reads as an empty mapping. */
    @SuppressWarnings("unchecked")
    Section section(String key) throws ConfigException {
        Section known = children.get(key);
        if (known != null) {
            return known;
        }
        Object value = read(key);
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
        var child = new Section(pathOf(key), (Map<String, Object>) map);
        children.put(key, child);
        return child;
    }

    Optional<String> string(String key) throws ConfigException {
        Object value = read(key);
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

    /** An optional string where an empty one means none, as the Python core's truth test reads it ({@code primary_payload_key: ""}). */
    Optional<String> optionalString(String key) throws ConfigException {
        if ("".equals(read(key))) {
            return Optional.empty();
        }
        return string(key);
    }

    boolean bool(String key, boolean fallback) throws ConfigException {
        Object value = read(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Boolean flag) {
            return flag;
        }
        throw ConfigException.at(pathOf(key), "expected true or false, got " + describe(value));
    }

    /** A whole number; a quoted one ({@code "8080"}) is read too, as the Python core read it. */
    long integer(String key, long fallback, long min, long max) throws ConfigException {
        Object value = read(key);
        if (value == null) {
            return fallback;
        }
        BigInteger number = null;
        if (value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
            number = new BigInteger(value.toString());
        } else if (value instanceof String text && WHOLE_NUMBER.matcher(text.strip()).matches()) {
            number = new BigInteger(text.strip());
        }
        if (number != null && number.compareTo(BigInteger.valueOf(min)) >= 0 && number.compareTo(BigInteger.valueOf(max)) <= 0) {
            return number.longValue();
        }
        throw ConfigException.at(pathOf(key), "expected a whole number from " + min + " to " + max + ", got " + describe(value));
    }

    /** A number; a quoted one ({@code "100"}, {@code "0.5"}) is read too, as the Python core read it. */
    double number(String key, double fallback, double min, double max) throws ConfigException {
        Object value = read(key);
        if (value == null) {
            return fallback;
        }
        double number = Double.NaN;
        if (value instanceof Number given) {
            number = given.doubleValue();
        } else if (value instanceof String text) {
            try {
                number = new BigDecimal(text.strip()).doubleValue();
            } catch (NumberFormatException e) {
                // Not a number: refused below with the value it was.
            }
        }
        if (Double.isFinite(number) && number >= min && number <= max) {
            return number;
        }
        throw ConfigException.at(pathOf(key), "expected a number from " + min + " to " + max + ", got " + describe(value));
    }

    /** A list of strings; numbers are rendered as text because YAML reads {@code 8192} as a number. */
    List<String> stringList(String key) throws ConfigException {
        Object value = read(key);
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
        Object value = read(key);
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
