package ccc.core.log;

import java.text.MessageFormat;
import java.util.ResourceBundle;

/** A {@link System.Logger} that writes through {@link Log}, handed to adapters; their messages have secrets masked. */
public final class SystemLoggerAdapter implements System.Logger {

    private final String name;
    private final Log log;

    /** A logger named {@code name} whose messages have the secrets {@code secrets} learnt masked. */
    public SystemLoggerAdapter(String name, Redactor secrets) {
        this.name = name;
        this.log = Log.named(name, secrets);
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean isLoggable(System.Logger.Level level) {
        return level != System.Logger.Level.OFF && log.enabled(map(level));
    }

    @Override
    public void log(System.Logger.Level level, ResourceBundle bundle, String message, Throwable thrown) {
        if (isLoggable(level)) {
            log.write(map(level), log.redact(String.valueOf(message)), thrown);
        }
    }

    @Override
    public void log(System.Logger.Level level, ResourceBundle bundle, String format, Object... params) {
        if (isLoggable(level)) {
            String message = params == null || params.length == 0 ? format : MessageFormat.format(format, params);
            log.write(map(level), log.redact(String.valueOf(message)), null);
        }
    }

    private static ccc.core.log.Level map(System.Logger.Level level) {
        return switch (level) {
            case ALL, TRACE, DEBUG -> ccc.core.log.Level.DEBUG;
            case INFO -> ccc.core.log.Level.INFO;
            case WARNING -> ccc.core.log.Level.WARNING;
            case ERROR, OFF -> ccc.core.log.Level.ERROR;
        };
    }
}
