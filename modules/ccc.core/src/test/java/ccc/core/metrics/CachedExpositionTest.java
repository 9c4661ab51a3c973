package ccc.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Gauge;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The exposition is rendered once a window for each variant, and again once a window is over. */
class CachedExpositionTest {

    private static final Duration WINDOW = Duration.ofSeconds(1);

    private final CollectorRegistry registry = new CollectorRegistry(true);
    private final Gauge flows = Gauge.build("test_flows", "Flows.").register(registry);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final CachedExposition exposition = new CachedExposition(registry, WINDOW, now::get);
    private final CachedExposition.Variant text = new CachedExposition.Variant(TextFormat.CONTENT_TYPE_004, false);

    private String render(CachedExposition.Variant variant) throws Exception {
        byte[] body = exposition.body(variant);
        if (variant.gzip()) {
            body = new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes();
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    @Test
    void aFamilyThatChangesIsRenderedAgainOnceTheWindowIsOver() throws Exception {
        flows.set(1);
        assertTrue(render(text).contains("test_flows 1.0\n"));
        flows.set(2);
        now.addAndGet(WINDOW.toNanos() - 1);
        assertTrue(render(text).contains("test_flows 1.0\n"), "rendered again inside the window");
        now.addAndGet(1);
        assertTrue(render(text).contains("test_flows 2.0\n"), "not rendered again after the window");
    }

    @Test
    void insideTheWindowTheSameBytesAreServed() {
        assertNull(exposition.fresh(text), "nothing rendered yet");
        byte[] first = exposition.body(text);
        assertSame(first, exposition.body(text));
        assertSame(first, exposition.fresh(text));
        now.addAndGet(WINDOW.toNanos());
        assertNull(exposition.fresh(text), "the window is over");
    }

    @Test
    void eachVariantIsRenderedForItself() throws Exception {
        flows.set(3);
        var openMetrics = new CachedExposition.Variant(TextFormat.CONTENT_TYPE_OPENMETRICS_100, false);
        var gzipped = new CachedExposition.Variant(TextFormat.CONTENT_TYPE_004, true);
        String plain = render(text);
        String open = render(openMetrics);
        assertTrue(open.endsWith("# EOF\n"), open);
        assertFalse(plain.contains("# EOF"), plain);
        assertEquals(plain, render(gzipped));
    }
}
