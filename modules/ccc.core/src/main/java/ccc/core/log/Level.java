package ccc.core.log;

import java.util.Locale;

/** Log levels, named as the Python core's {@code LOG_LEVEL} names them. */
public enum Level {
    DEBUG, INFO, WARNING, ERROR;

    /** Parses a {@code LOG_LEVEL} value; also takes WARN and CRITICAL, as Python's logging does. */
    public static Level parse(String text) {
        return switch (text.trim().toUpperCase(Locale.ROOT)) {
            case "DEBUG" -> DEBUG;
            case "INFO" -> INFO;
            case "WARNING", "WARN" -> WARNING;
            case "ERROR", "CRITICAL", "FATAL" -> ERROR;
            default -> throw new IllegalArgumentException(
                    "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, got '" + text + "'");
        };
    }
}
