package ccc.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/** JSON in and out of the core, with read limits so that hostile bodies fail fast and cleanly. */
public final class Json {

    /** How deep objects and arrays may nest in a body. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** The longest string value of a body, in characters. */
    public static final int MAX_STRING_CHARACTERS = 256 * 1024;
    /** The longest number of a body, in digits. */
    public static final int MAX_NUMBER_DIGITS = 100;
    /** The longest key of a body, in characters. */
    public static final int MAX_NAME_CHARACTERS = 1024;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxStringLength(MAX_STRING_CHARACTERS)
                    .maxNumberLength(MAX_NUMBER_DIGITS)
                    .maxNameLength(MAX_NAME_CHARACTERS)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final JSON MAPPER = JSON.builder(FACTORY).enable(JSON.Feature.WRITE_NULL_PROPERTIES).build();

    private Json() {
    }

    /**
     * Parses a body that must be one JSON object and nothing after it.
     *
     * @throws InvalidJson when it is not JSON, not an object, or breaks a read limit
     */
    public static Map<String, Object> readObject(byte[] body) throws InvalidJson {
        return read(body, false);
    }

    /**
     * As {@link #readObject}, but a JSON {@code null} reads as an empty object: an optional body, for
     * which clients send {@code null} to mean "no options". The null is found by the same parse as
     * any other value, so whatever the parser reads past before a value (a UTF-8 byte order mark,
     * blanks) it reads past before this one.
     */
    public static Map<String, Object> readOptionalObject(byte[] body) throws InvalidJson {
        return read(body, true);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> read(byte[] body, boolean nullIsEmpty) throws InvalidJson {
        if (body.length == 0) {
            throw new InvalidJson("body must be a JSON object, got an empty body");
        }
        try (JsonParser parser = FACTORY.createParser(body)) {
            Object value = MAPPER.anyFrom(parser);
            if (parser.nextToken() != null) {
                throw new InvalidJson("body must be a single JSON object, found more content after it");
            }
            if (value == null && nullIsEmpty) {
                return Map.of();
            }
            if (!(value instanceof Map<?, ?> map)) {
                throw new InvalidJson("body must be a JSON object, got " + kind(value));
            }
            requireFiniteNumbers(map);
            return (Map<String, Object>) map;
        } catch (StreamConstraintsException e) {
            throw new InvalidJson("body exceeds a JSON limit: " + limitBroken(e));
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null || at.getLineNr() < 0 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new InvalidJson("body is not valid JSON: " + firstLine(e.getOriginalMessage()), "is not valid JSON" + where);
        } catch (IOException e) {
            throw new InvalidJson("body is not valid JSON: " + firstLine(e.getMessage()), "is not valid JSON");
        }
    }

    /**
     * Which limit {@code e} reports, in the core's words: the parser's own message names its
     * internals and counts only as far as it read.
     */
    private static String limitBroken(StreamConstraintsException e) {
        String message = String.valueOf(e.getOriginalMessage());
        if (message.startsWith("String value length")) {
            return "a string value is longer than " + MAX_STRING_CHARACTERS + " characters";
        }
        if (message.startsWith("Number value length")) {
            return "a number is longer than " + MAX_NUMBER_DIGITS + " digits";
        }
        if (message.startsWith("Name length")) {
            return "a key is longer than " + MAX_NAME_CHARACTERS + " characters";
        }
        if (message.startsWith("Document nesting depth")) {
            return "objects and arrays nest deeper than " + MAX_NESTING_DEPTH + " levels";
        }
        return firstLine(message);
    }

    /** Numbers such as 1e999999 read as infinity, which JSON cannot carry back out: refuse them here. */
    private static void requireFiniteNumbers(Object value) throws InvalidJson {
        if (value instanceof Map<?, ?> map) {
            for (Object nested : map.values()) {
                requireFiniteNumbers(nested);
            }
        } else if (value instanceof List<?> list) {
            for (Object nested : list) {
                requireFiniteNumbers(nested);
            }
        } else if (value instanceof Double number && !Double.isFinite(number)) {
            throw new InvalidJson("body holds a number too large to represent");
        } else if (value instanceof Float number && !Float.isFinite(number)) {
            throw new InvalidJson("body holds a number too large to represent");
        }
    }

    /**
     * A copy of {@code figures} (an adapter's, of any types) made of the values {@link #write} is
     * given by the core alone: maps with string keys, lists, strings, numbers, booleans and null.
     * Arrays and collections become lists; the JDK's atomic numbers and adders their value; any
     * other object its {@code toString()}, since the writer would take it for a bean and call
     * whatever its getters do ({@code AtomicLong.getAndIncrement}) and follow its references
     * without end. Nothing of {@code figures} is kept, so the adapter may change it afterwards.
     *
     * @throws IllegalArgumentException when maps and lists nest deeper than {@link #MAX_NESTING_DEPTH}
     */
    public static Map<String, Object> plainCopy(Map<?, ?> figures) {
        return plainMap(figures, 1);
    }

    private static Map<String, Object> plainMap(Map<?, ?> map, int depth) {
        if (depth > MAX_NESTING_DEPTH) {
            throw new IllegalArgumentException("nest deeper than " + MAX_NESTING_DEPTH + " levels (a map or list that holds itself?)");
        }
        var copy = new java.util.LinkedHashMap<String, Object>();
        map.forEach((key, value) -> copy.put(String.valueOf(key), plainValue(value, depth)));
        return copy;
    }

    private static List<Object> plainList(Iterable<?> values, int depth) {
        if (depth > MAX_NESTING_DEPTH) {
            throw new IllegalArgumentException("nest deeper than " + MAX_NESTING_DEPTH + " levels (a map or list that holds itself?)");
        }
        var copy = new java.util.ArrayList<Object>();
        values.forEach(value -> copy.add(plainValue(value, depth)));
        return copy;
    }

    private static Object plainValue(Object value, int depth) {
        return switch (value) {
            case null -> null;
            case String text -> text;
            case Boolean flag -> flag;
            case Integer number -> number;
            case Long number -> number;
            case Double number -> number;
            case Float number -> number;
            case Short number -> number;
            case Byte number -> number;
            case java.math.BigInteger number -> number;
            case java.math.BigDecimal number -> number;
            case java.util.concurrent.atomic.AtomicInteger number -> number.get();
            case java.util.concurrent.atomic.AtomicLong number -> number.get();
            case java.util.concurrent.atomic.LongAdder number -> number.sum();
            case java.util.concurrent.atomic.LongAccumulator number -> number.get();
            case java.util.concurrent.atomic.DoubleAdder number -> number.sum();
            case java.util.concurrent.atomic.DoubleAccumulator number -> number.get();
            case java.util.concurrent.atomic.AtomicBoolean flag -> flag.get();
            case Map<?, ?> map -> plainMap(map, depth + 1);
            case java.util.Collection<?> values -> plainList(values, depth + 1);
            case Object[] values -> plainList(java.util.Arrays.asList(values), depth + 1);
            case int[] values -> java.util.Arrays.stream(values).boxed().toList();
            case long[] values -> java.util.Arrays.stream(values).boxed().toList();
            case double[] values -> java.util.Arrays.stream(values).boxed().toList();
            default -> value.toString();
        };
    }

    /** Serialises maps, lists, strings, numbers, booleans and null. */
    public static byte[] write(Object value) {
        try {
            return MAPPER.asBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise response", e);
        }
    }

    /** Serialises as {@link #write}, indented for people to read and edit. */
    public static byte[] writeIndented(Object value) {
        try {
            return MAPPER.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise", e);
        }
    }

    /** A generator that writes JSON to {@code out} as it goes, and closes {@code out} when closed. */
    public static JsonGenerator generator(OutputStream out) throws IOException {
        return FACTORY.createGenerator(out);
    }

    /** A body that is not one JSON object within the read limits; the message says why. */
    public static final class InvalidJson extends Exception {
        private static final long serialVersionUID = 1L;
        private final String problem;

        /** {@code message} starts with "body " and quotes nothing of the input. */
        InvalidJson(String message) {
            this(message, message.substring("body ".length()));
        }

        InvalidJson(String message, String problem) {
            super(message, null, false, false);
            this.problem = problem;
        }

        /**
         * What was wrong, without "body" and without any text quoted from the input: where the
         * reader is not the input's author (a public health check), a typo beside a secret must
         * not show the secret.
         */
        public String problem() {
            return problem;
        }
    }

    /**
     * What a decoded JSON value is ("a string", "an object", ...), never what it holds: messages
     * about a request's or a payload's values say this, as a value may be a secret.
     */
    public static String kind(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map<?, ?>) {
            return "an object";
        }
        if (value instanceof List<?>) {
            return "an array";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Number) {
            return "a number";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        return value.getClass().getSimpleName();
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "unreadable";
        }
        String line = text.lines().findFirst().orElse(text);
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }
}
