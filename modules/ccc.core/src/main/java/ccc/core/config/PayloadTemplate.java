package ccc.core.config;

import ccc.api.Payload;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One configured string with {@code ${key}} or {@code $key} placeholders filled from the start
 * payload; dotted keys reach into nested objects ({@code ${config.sim_users}}) and {@code $$} is
 * a literal dollar sign. A template always yields exactly one string: an argv element is never
 * split or joined, and nothing reaches a shell.
 */
public final class PayloadTemplate {

    private static final Pattern PLACEHOLDER =
            Pattern.compile("\\$(?:\\{([A-Za-z_][A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]+)*)}|([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_]+)*)|(\\$))");

    private final String text;
    private final List<String> keys;

    private PayloadTemplate(String text, List<String> keys) {
        this.text = text;
        this.keys = keys;
    }

    /**
     * Parses {@code text}.
     *
     * @throws ConfigException naming {@code path} when a {@code $} starts no valid placeholder
     */
    public static PayloadTemplate parse(String text, String path) throws ConfigException {
        var keys = new ArrayList<String>();
        Matcher matcher = PLACEHOLDER.matcher(text);
        int position = 0;
        while (position < text.length()) {
            int dollar = text.indexOf('$', position);
            if (dollar < 0) {
                break;
            }
            if (!matcher.find(dollar) || matcher.start() != dollar) {
                throw ConfigException.at(path, "'" + text + "' has a '$' at " + dollar
                        + " that starts no placeholder; write ${key}, $key, or $$ for a dollar sign");
            }
            if (matcher.group(3) == null) {
                keys.add(matcher.group(1) != null ? matcher.group(1) : matcher.group(2));
            }
            position = matcher.end();
        }
        return new PayloadTemplate(text, List.copyOf(keys));
    }

    /** The payload keys this template reads. */
    public List<String> keys() {
        return keys;
    }

    /**
     * Fills the placeholders from {@code payload}.
     *
     * @throws MissingValueException when a key is absent or its value is not a string, number or boolean
     */
    public String fill(Payload payload) throws MissingValueException {
        Matcher matcher = PLACEHOLDER.matcher(text);
        var filled = new StringBuilder(text.length() + 32);
        while (matcher.find()) {
            String replacement;
            if (matcher.group(3) != null) {
                replacement = "$";
            } else {
                String key = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
                replacement = scalar(key, payload.find(key), present(payload.values(), key));
            }
            matcher.appendReplacement(filled, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(filled);
        return filled.toString();
    }

    /** Whether the key or dotted path is present, even with a null value. */
    private static boolean present(Map<String, Object> values, String path) {
        if (values.containsKey(path)) {
            return true;
        }
        Object current = values;
        for (String part : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map) || !map.containsKey(part)) {
                return false;
            }
            current = map.get(part);
        }
        return true;
    }

    private static String scalar(String key, Optional<Object> value, boolean present) throws MissingValueException {
        if (value.isEmpty()) {
            throw new MissingValueException(key, present
                    ? "payload key '" + key + "' is null; it fills a placeholder and needs a string, number or boolean"
                    : "payload key '" + key + "' is missing; the configured command needs it");
        }
        Object found = value.get();
        if (found instanceof String text) {
            if (text.indexOf('\0') >= 0) {
                throw new MissingValueException(key, "payload key '" + key + "' contains a NUL character");
            }
            return text;
        }
        if (found instanceof Boolean) {
            return found.toString();
        }
        if (found instanceof Number number) {
            return number instanceof Double || number instanceof Float || number instanceof BigDecimal
                    ? new BigDecimal(number.toString()).stripTrailingZeros().toPlainString()
                    : number.toString();
        }
        throw new MissingValueException(key, "payload key '" + key + "' must be a string, number or boolean, got "
                + (found instanceof Map<?, ?> ? "an object" : found instanceof List<?> ? "an array" : found.getClass().getSimpleName()));
    }

    @Override
    public String toString() {
        return text;
    }

    /** A placeholder the payload cannot fill; the message names the key. */
    public static final class MissingValueException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String key;

        MissingValueException(String key, String message) {
            super(message, null, false, false);
            this.key = key;
        }

        public String key() {
            return key;
        }
    }
}
