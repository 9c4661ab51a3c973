package ccc.core.log;

/**
 * The loggers the JDK hands out ({@link System#getLogger}), its own modules' included: they
 * write through {@link Log}, so a line the JDK's HTTP server logs about a request anyone can send
 * is in the core's format, escaped and masked like any other, and no more than
 * {@link #LINES_PER_SECOND} lines (and {@link #CHARS_PER_SECOND} characters) a second of them
 * reach the log; the number left out is told with the next line that goes. Without this
 * provider the JDK would print them to the console as it likes, unbounded.
 */
public final class CoreLoggerFinder extends System.LoggerFinder {

    /** Lines a second the JDK's loggers may write, all together. */
    public static final int LINES_PER_SECOND = 20;
    /** Characters a second the JDK's loggers may write, all together. */
    public static final int CHARS_PER_SECOND = 16 * 1024;

    private final SystemLoggerAdapter.Bound bound;

    /** The provider the JDK loads ({@code provides java.lang.System.LoggerFinder}). */
    public CoreLoggerFinder() {
        this(new RateLimit(LINES_PER_SECOND, CHARS_PER_SECOND));
    }

    CoreLoggerFinder(RateLimit limit) {
        this.bound = new SystemLoggerAdapter.Bound(limit, new java.util.concurrent.atomic.AtomicLong());
    }

    @Override
    public System.Logger getLogger(String name, Module module) {
        return new SystemLoggerAdapter(name, bound);
    }
}
