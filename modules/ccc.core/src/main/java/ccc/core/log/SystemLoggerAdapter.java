package ccc.core.log;

import java.text.MessageFormat;
import java.util.ResourceBundle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link System.Logger} that writes through {@link Log}: handed to adapters, and to the JDK by
 * {@link CoreLoggerFinder}; messages have secrets masked, and with a {@link RateLimit} the lines
 * over it are left out and counted.
 */
public final class SystemLoggerAdapter implements System.Logger {

    private final String name;
    private final Log log;
    private final Bound bound;

    /** A rate limit several loggers share, and how many of their lines it has left out since one last went. */
    record Bound(RateLimit limit, AtomicLong leftOut) {
    }

    /** An adapter's logger, unlimited (its lines are its own), with the secrets {@code secrets} learnt masked. */
    public SystemLoggerAdapter(String name, Redactor secrets) {
        this(Log.named(name, secrets), name, null);
    }

    /** One of the JDK's loggers, process-wide, within {@code bound}. */
    SystemLoggerAdapter(String name, Bound bound) {
        this(Log.named(name), name, bound);
    }

    private SystemLoggerAdapter(Log log, String name, Bound bound) {
        this.name = name;
        this.log = log;
        this.bound = bound;
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
            write(level, String.valueOf(message), thrown);
        }
    }

    @Override
    public void log(System.Logger.Level level, ResourceBundle bundle, String format, Object... params) {
        if (isLoggable(level)) {
            String message = params == null || params.length == 0 ? format : MessageFormat.format(format, params);
            write(level, String.valueOf(message), null);
        }
    }

    private void write(System.Logger.Level level, String message, Throwable thrown) {
        if (bound == null) {
            log.write(map(level), log.redact(message), thrown);
        } else if (bound.limit().tryTake(message.length())) {
            long before = bound.leftOut().getAndSet(0);
            if (before == 0) {
                log.write(map(level), log.redact(message), thrown);
            } else {
                log.write(map(level), log.redact(message), thrown, "left_out_before", before, "limit_lines_per_s", CoreLoggerFinder.LINES_PER_SECOND);
            }
        } else {
            bound.leftOut().incrementAndGet();
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
