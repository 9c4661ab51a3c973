package ccc.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ccc.api.Adapter;
import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The adapter's figures are asked for once a window, and callers that arrive during a call share it. */
class AdapterFiguresTest {

    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private volatile CountDownLatch release = new CountDownLatch(0);

    private final Adapter adapter = new Adapter() {
        @Override
        public Workload start(Payload payload, AdapterContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void stop() {
        }

        @Override
        public Map<String, Object> metrics() {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Map.of("call", calls.incrementAndGet());
        }
    };

    private final AdapterFigures figures = new AdapterFigures(adapter, now::get);

    @Test
    void aBurstOfRequestsAsksTheAdapterOncePerWindow() {
        for (int i = 0; i < 50; i++) {
            assertEquals(Map.of("call", 1), figures.metrics());
        }
        now.addAndGet(MetricsService.READINGS_FRESH_FOR.toNanos());
        assertEquals(Map.of("call", 2), figures.metrics());
        assertEquals(2, calls.get());
    }

    @Test
    void requestsDuringACallWaitForItInsteadOfFailing() throws Exception {
        release = new CountDownLatch(1);
        var answers = new ArrayList<Map<String, Object>>();
        var threads = new ArrayList<Thread>();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                Map<String, Object> answer = figures.metrics();
                synchronized (answers) {
                    answers.add(answer);
                }
            }));
        }
        Thread.sleep(50);
        release.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(8, answers.size());
        answers.forEach(answer -> assertEquals(Map.of("call", 1), answer));
        assertEquals(1, calls.get());
    }
}
