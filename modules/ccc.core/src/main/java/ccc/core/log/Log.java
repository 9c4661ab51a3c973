package ccc.core.log;

import java.io.PrintStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The core's log: one line per event on stdout with a UTC timestamp, as plain text or as JSON
 * lines for log collectors. Each component holds one {@code Log} named after it.
 *
 * <p>Where lines go, at which level and in which format is the process's (one stdout, set once by
 * {@code main}). Which secrets are masked is a supervisor's: the components a supervisor owns log
 * through {@link #named(String, Redactor)} with the redactor that learns its payloads' secrets, so
 * two supervisors in one virtual machine never mask with, or miss, each other's.
 */
public record Log(String component, Redactor secrets) {

    /** How lines are written. */
    public enum Format { TEXT, JSON }

    private static volatile Level threshold = Level.INFO;
    private static volatile Format format = Format.TEXT;
    private static volatile PrintStream out = System.out;
    /** Masks nothing: process-wide components never log a payload's values. It is never taught a secret. */
    private static final Redactor NOTHING_LEARNT = new Redactor();

    /**
     * The longest message or field value written, in characters; longer ones are cut and say so.
     * Values can come from outside (a request path, a payload, an error's text), and a log line
     * must not grow with them. A line of the workload's output is never longer than this.
     */
    public static final int MAX_VALUE_CHARS = 8 * 1024;

    /**
     * @param component the component's name in every line, for example {@code lifecycle}
     * @param secrets what masks the secrets in the lines' fields
     */
    public Log {
        Objects.requireNonNull(component);
        Objects.requireNonNull(secrets);
    }

    /** The log of a process-wide component, for example {@code config} or {@code http}, which logs no payload's values. */
    public static Log named(String component) {
        return new Log(component, NOTHING_LEARNT);
    }

    /** The log of one of a supervisor's components, for example {@code lifecycle}: its fields have {@code secrets} masked. */
    public static Log named(String component, Redactor secrets) {
        return new Log(component, secrets);
    }

    /** Sets the level and format for every component; called once by {@code main}. */
    public static void configure(Level level, Format lineFormat) {
        threshold = level;
        format = lineFormat;
    }

    /** Redirects the log: to stderr where stdout carries a command's output, or for tests that read it. */
    public static void redirect(PrintStream stream) {
        out = stream;
    }

    public static Level threshold() {
        return threshold;
    }

    public boolean enabled(Level level) {
        return level.compareTo(threshold) >= 0;
    }

    public void debug(String message, Object... fields) {
        write(Level.DEBUG, message, null, fields);
    }

    public void info(String message, Object... fields) {
        write(Level.INFO, message, null, fields);
    }

    public void warn(String message, Object... fields) {
        write(Level.WARNING, message, null, fields);
    }

    public void error(String message, Object... fields) {
        write(Level.ERROR, message, null, fields);
    }

    public void error(String message, Throwable cause, Object... fields) {
        write(Level.ERROR, message, cause, fields);
    }

    /**
     * Writes one event; {@code fields} alternate names and values ({@code "pid", 42}).
     * Control characters inside values are escaped so an event is always one line that no
     * terminal or log parser reads as anything else. Field values have known secrets masked;
     * {@code message} does not, since it is the caller's own text (a caller passing outside text
     * as the message masks it first), so no learnt secret can blind the core's own messages.
     */
    public void write(Level level, String message, Throwable cause, Object... fields) {
        if (!enabled(level)) {
            return;
        }
        var extra = new LinkedHashMap<String, Object>();
        for (int i = 0; i + 1 < fields.length; i += 2) {
            extra.put(String.valueOf(fields[i]), fields[i + 1]);
        }
        if (cause != null) {
            extra.put("error", describe(cause));
        }
        extra.replaceAll((name, value) -> value instanceof Number || value instanceof Boolean ? value
                : maskedAndCapped(String.valueOf(value), secrets));
        String line = format == Format.JSON
                ? jsonLine(Instant.now(), level, component, capped(message, message.length()), extra)
                : textLine(Instant.now(), level, component, capped(message, message.length()), extra);
        PrintStream stream = out;
        stream.println(line);
    }

    /** Outside text that is to be logged as a message, with the secrets this log knows masked and cut to the cap. */
    String redact(String text) {
        return maskedAndCapped(text, secrets);
    }

    /**
     * {@code text} with secrets masked, cut to {@link #MAX_VALUE_CHARS}. It is cut once before
     * masking too, so that masking never works on more than a bounded text, with room past the
     * cap for a whole secret, so that no secret is left half-visible at the end.
     */
    static String maskedAndCapped(String text, Redactor secrets) {
        int room = MAX_VALUE_CHARS + Redactor.MAX_SECRET_CHARS;
        String bounded = text.length() > room ? text.substring(0, room) : text;
        return capped(secrets.redact(bounded), text.length());
    }

    /** {@code text} cut to {@link #MAX_VALUE_CHARS}, saying so and how long the original ({@code originalLength}) was. */
    static String capped(String text, int originalLength) {
        if (text.length() <= MAX_VALUE_CHARS) {
            return text;
        }
        int end = MAX_VALUE_CHARS;
        if (Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + "…(cut; " + originalLength + " characters in all)";
    }

    /** A throwable as one line: its type and message, and those of its root cause. */
    public static String describe(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = error.getMessage() != null ? error.getMessage() : error.getClass().getSimpleName();
        if (root != error && root.getMessage() != null && !text.contains(root.getMessage())) {
            text += ": " + root.getMessage();
        }
        return text;
    }

    static String textLine(Instant time, Level level, String component, String message, Map<String, Object> fields) {
        var line = new StringBuilder(96)
                .append(Timestamps.format(time)).append(' ')
                .append(level.name()).append(' ')
                .append(component).append(": ")
                .append(oneLine(message));
        fields.forEach((name, value) -> {
            String text = oneLine(String.valueOf(value));
            line.append(' ').append(name).append('=');
            if (text.isEmpty() || text.indexOf(' ') >= 0 || text.indexOf('"') >= 0) {
                line.append('"').append(text.replace("\"", "\\\"")).append('"');
            } else {
                line.append(text);
            }
        });
        return line.toString();
    }

    static String jsonLine(Instant time, Level level, String component, String message, Map<String, Object> fields) {
        var line = new StringBuilder(128).append('{');
        appendJson(line, "timestamp", Timestamps.format(time)).append(',');
        appendJson(line, "level", level.name()).append(',');
        appendJson(line, "logger", component).append(',');
        appendJson(line, "message", message);
        fields.forEach((name, value) -> {
            line.append(',');
            if (value instanceof Number || value instanceof Boolean) {
                line.append('"').append(escapeJson(name)).append("\":").append(value);
            } else {
                appendJson(line, name, String.valueOf(value));
            }
        });
        return line.append('}').toString();
    }

    private static StringBuilder appendJson(StringBuilder line, String name, String value) {
        return line.append('"').append(escapeJson(name)).append("\":\"").append(escapeJson(value)).append('"');
    }

    /**
     * {@code text} with every control character (C0, DEL, C1) and the Unicode line and paragraph
     * separators escaped as JSON escapes them: a backslash and n, r or t, else a backslash, u and
     * four hex digits. {@code ccc ctl} prints outside text for people through this too.
     */
    public static String oneLine(String text) {
        return escaped(text, false);
    }

    /** {@code text} as the inside of a JSON string: {@link #oneLine} and quotes and backslashes escaped too. */
    static String escapeJson(String text) {
        return escaped(text, true);
    }

    private static String escaped(String text, boolean jsonString) {
        int first = 0;
        while (first < text.length() && !needsEscape(text.charAt(first), jsonString)) {
            first++;
        }
        if (first == text.length()) {
            return text;
        }
        var escaped = new StringBuilder(text.length() + 16).append(text, 0, first);
        for (int i = first; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> escaped.append("\\n");
                case '\r' -> escaped.append("\\r");
                case '\t' -> escaped.append("\\t");
                default -> {
                    if (c == '"' || c == '\\') {
                        escaped.append(jsonString ? "\\" : "").append(c);
                    } else if (needsEscape(c, false)) {
                        appendUnicodeEscape(escaped, c);
                    } else {
                        escaped.append(c);
                    }
                }
            }
        }
        return escaped.toString();
    }

    /** Control characters (C0, DEL, C1) and U+2028 and U+2029, which terminals and log parsers act on; in a JSON string, quotes and backslashes too. */
    private static boolean needsEscape(char c, boolean jsonString) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || bidiControl(c) || jsonString && (c == '"' || c == '\\');
    }

    /**
     * Whether {@code c} changes the direction in which the text around it is shown (the bidi
     * embeddings, overrides and isolates, and the marks): a line holding one can be shown as
     * another than it is ("Trojan Source"), so it is escaped as a control character is.
     */
    private static boolean bidiControl(char c) {
        return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
    }

    private static void appendUnicodeEscape(StringBuilder out, char c) {
        String hex = Integer.toHexString(c);
        out.append("\\u");
        for (int pad = hex.length(); pad < 4; pad++) {
            out.append('0');
        }
        out.append(hex);
    }
}
