package ccc.core.config;

import ccc.api.Payload;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One configured string with {@code ${key}} or {@code $key} placeholders filled from the start
 * payload, read as the Python core's {@code string.Template.safe_substitute} reads them: {@code $$}
 * is a literal dollar sign, {@code $name} takes the longest ASCII identifier ({@code $secs.5} is
 * {@code $secs} followed by {@code .5}), and a {@code $} that starts no placeholder ({@code $1},
 * {@code $@}, {@code $(}, {@code ${1}}, an unclosed {@code ${}) is kept as it is, so shell scripts
 * in a command work unchanged. Beyond v2.0, the braced form takes dotted keys into nested objects
 * ({@code ${config.sim_users}}), and a key the payload lacks is an error rather than text left
 * in place. A template always yields exactly one string: an argv element is never split or
 * joined, and nothing reaches a shell.
 */
public final class PayloadTemplate {

    private final String text;
    private final List<Part> parts;

    private PayloadTemplate(String text, List<Part> parts) {
        this.text = text;
        this.parts = parts;
    }

    /** A piece of a template: text kept as it is, or a payload key to fill. */
    private sealed interface Part permits Literal, Placeholder {
    }

    private record Literal(String text) implements Part {
    }

    private record Placeholder(String key) implements Part {
    }

    /** Parses {@code text}; every string is a valid template. */
    public static PayloadTemplate parse(String text) {
        var parts = new ArrayList<Part>();
        var literal = new StringBuilder();
        int position = 0;
        while (position < text.length()) {
            char c = text.charAt(position);
            if (c != '$') {
                literal.append(c);
                position++;
                continue;
            }
            int afterDollar = position + 1;
            if (afterDollar < text.length() && text.charAt(afterDollar) == '$') {
                literal.append('$');
                position = afterDollar + 1;
                continue;
            }
            int nameEnd = identifierEnd(text, afterDollar);
            if (nameEnd > afterDollar) {
                addPlaceholder(parts, literal, text.substring(afterDollar, nameEnd));
                position = nameEnd;
                continue;
            }
            if (afterDollar < text.length() && text.charAt(afterDollar) == '{') {
                int keyEnd = bracedKeyEnd(text, afterDollar + 1);
                if (keyEnd > afterDollar + 1 && keyEnd < text.length() && text.charAt(keyEnd) == '}') {
                    addPlaceholder(parts, literal, text.substring(afterDollar + 1, keyEnd));
                    position = keyEnd + 1;
                    continue;
                }
            }
            // Starts no placeholder: kept, as safe_substitute keeps it (sh's $1, $@, $(...), ${1}).
            literal.append('$');
            position = afterDollar;
        }
        if (!literal.isEmpty()) {
            parts.add(new Literal(literal.toString()));
        }
        return new PayloadTemplate(text, List.copyOf(parts));
    }

    private static void addPlaceholder(List<Part> parts, StringBuilder literal, String key) {
        if (!literal.isEmpty()) {
            parts.add(new Literal(literal.toString()));
            literal.setLength(0);
        }
        parts.add(new Placeholder(key));
    }

    /** The end of an ASCII identifier ({@code [A-Za-z_][A-Za-z0-9_]*}) starting at {@code from}, or {@code from} if none starts there. */
    private static int identifierEnd(String text, int from) {
        if (from >= text.length() || !isIdentifierStart(text.charAt(from))) {
            return from;
        }
        int end = from + 1;
        while (end < text.length() && isIdentifierPart(text.charAt(end))) {
            end++;
        }
        return end;
    }

    /** The end of an identifier followed by any {@code .segment}s of ASCII letters, digits and underscores. */
    private static int bracedKeyEnd(String text, int from) {
        int end = identifierEnd(text, from);
        while (end > from && end + 1 < text.length() && text.charAt(end) == '.' && isIdentifierPart(text.charAt(end + 1))) {
            end += 2;
            while (end < text.length() && isIdentifierPart(text.charAt(end))) {
                end++;
            }
        }
        return end;
    }

    private static boolean isIdentifierStart(char c) {
        return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    private static boolean isIdentifierPart(char c) {
        return isIdentifierStart(c) || (c >= '0' && c <= '9');
    }

    /** The payload keys this template reads. */
    public List<String> keys() {
        return parts.stream().<String>mapMulti((part, keys) -> {
            if (part instanceof Placeholder(String key)) {
                keys.accept(key);
            }
        }).toList();
    }

    /**
     * Fills the placeholders from {@code payload}.
     *
     * @throws MissingValueException when a key is absent or its value is not a string, number or boolean
     */
    public String fill(Payload payload) throws MissingValueException {
        var filled = new StringBuilder(text.length() + 32);
        for (Part part : parts) {
            switch (part) {
                case Literal(String literal) -> filled.append(literal);
                case Placeholder(String key) -> filled.append(scalar(key, payload.find(key), present(payload.values(), key)));
            }
        }
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
