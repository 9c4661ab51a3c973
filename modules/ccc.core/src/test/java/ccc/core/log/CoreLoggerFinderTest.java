package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JDK's loggers write through the core's log: in its format, on one line each, and no faster than the limit. */
class CoreLoggerFinderTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final AtomicLong now = new AtomicLong();

    @AfterEach
    void restore() {
        Log.redirect(System.out);
    }

    private List<String> lines() {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void aJdkLoggersLineIsOneEscapedLineInTheCoresFormat() {
        Log.redirect(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.Logger logger = new CoreLoggerFinder().getLogger("com.sun.net.httpserver", Object.class.getModule());
        logger.log(System.Logger.Level.WARNING, "sendResponseHeaders: being invoked\nFAKE 2025 ERROR core: forged");
        assertEquals(1, lines().size(), lines().toString());
        assertTrue(lines().getFirst().matches("\\S+ WARNING com\\.sun\\.net\\.httpserver: sendResponseHeaders: being invoked\\\\nFAKE 2025 ERROR core: forged"),
                lines().getFirst());
    }

    @Test
    void linesOverTheLimitAreLeftOutAndCountedWithTheNextThatGoes() {
        Log.redirect(new PrintStream(out, true, StandardCharsets.UTF_8));
        var finder = new CoreLoggerFinder(new RateLimit(CoreLoggerFinder.LINES_PER_SECOND, CoreLoggerFinder.CHARS_PER_SECOND, now::get));
        // Two loggers share the one limit, as every logger of the JDK does.
        System.Logger server = finder.getLogger("com.sun.net.httpserver", Object.class.getModule());
        System.Logger other = finder.getLogger("jdk.other", Object.class.getModule());
        for (int i = 0; i < 10_000; i++) {
            (i % 2 == 0 ? server : other).log(System.Logger.Level.WARNING, "flood " + i);
        }
        assertEquals(CoreLoggerFinder.LINES_PER_SECOND, lines().size());
        now.addAndGet(1_000_000_000L);
        other.log(System.Logger.Level.WARNING, "after a second");
        assertTrue(lines().getLast().endsWith("jdk.other: after a second left_out_before=" + (10_000 - CoreLoggerFinder.LINES_PER_SECOND)
                + " limit_lines_per_s=" + CoreLoggerFinder.LINES_PER_SECOND), lines().getLast());
    }
}
