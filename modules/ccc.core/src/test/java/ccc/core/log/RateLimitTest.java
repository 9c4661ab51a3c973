package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimitTest {

    private final AtomicLong now = new AtomicLong();

    @Test
    void linesPassUpToTheLineRateThenRefillOverTime() {
        var limit = new RateLimit(100, 1_000_000, now::get);
        int passed = 0;
        for (int i = 0; i < 1000; i++) {
            passed += limit.tryTake(10) ? 1 : 0;
        }
        assertEquals(100, passed, "one second's worth at once");
        now.addAndGet(500_000_000);
        passed = 0;
        for (int i = 0; i < 1000; i++) {
            passed += limit.tryTake(10) ? 1 : 0;
        }
        assertEquals(50, passed, "half a second refills half");
    }

    @Test
    void charactersAreLimitedToo() {
        var limit = new RateLimit(1000, 10_000, now::get);
        int passed = 0;
        for (int i = 0; i < 100; i++) {
            passed += limit.tryTake(1000) ? 1 : 0;
        }
        assertEquals(10, passed);
        assertFalse(limit.tryTake(1));
        now.addAndGet(10_000_000_000L);
        assertTrue(limit.tryTake(10_000), "refills to one second's worth, no more");
        assertFalse(limit.tryTake(1));
    }
}
