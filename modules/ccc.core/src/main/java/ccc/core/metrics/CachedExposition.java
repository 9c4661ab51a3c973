package ccc.core.metrics;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.zip.GZIPOutputStream;

/**
 * The {@code /metrics} exposition of one registry, rendered at most once a window for each
 * variant (text 0.0.4 or OpenMetrics, gzip or not) and then served as the same bytes. The
 * readings behind it are cached for the same window ({@link MetricsService#READINGS_FRESH_FOR}),
 * so a scrape inside the window would render the same figures anyway; what a scrape costs is
 * then a lookup and a copy, not collecting and formatting every family.
 */
final class CachedExposition {

    /** One rendered variant: its body and when it was rendered ({@link System#nanoTime()}). */
    private record Rendered(byte[] body, long renderedAt) {
    }

    /** Which exposition: the content type negotiated and whether it is gzipped. */
    record Variant(String contentType, boolean gzip) {
    }

    private static final int INITIAL_BUFFER = 8 * 1024;

    private final CollectorRegistry registry;
    private final long windowNanos;
    private final LongSupplier clock;
    // At most four entries: two content types, gzipped or not.
    private final ConcurrentHashMap<Variant, Rendered> rendered = new ConcurrentHashMap<>();

    CachedExposition(CollectorRegistry registry, Duration window, LongSupplier clock) {
        this.registry = registry;
        this.windowNanos = window.toNanos();
        this.clock = clock;
    }

    /** The body of {@code variant} rendered in this window, or null when there is none yet: no lock, no allocation. */
    byte[] fresh(Variant variant) {
        Rendered current = rendered.get(variant);
        return current != null && clock.getAsLong() - current.renderedAt() < windowNanos ? current.body() : null;
    }

    /** The body of {@code variant}: the one rendered in this window, or a new one when the window is over. */
    byte[] body(Variant variant) {
        byte[] current = fresh(variant);
        if (current != null) {
            return current;
        }
        // One scrape renders; the others that arrive meanwhile wait for it instead of rendering too.
        return rendered.compute(variant, (key, previous) ->
                previous != null && clock.getAsLong() - previous.renderedAt() < windowNanos ? previous : render(key)).body();
    }

    private Rendered render(Variant variant) {
        long now = clock.getAsLong();
        var text = new ByteArrayOutputStream(INITIAL_BUFFER);
        try (var writer = new OutputStreamWriter(text, StandardCharsets.UTF_8)) {
            TextFormat.writeFormat(variant.contentType(), writer, registry.metricFamilySamples());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!variant.gzip()) {
            return new Rendered(text.toByteArray(), now);
        }
        var zipped = new ByteArrayOutputStream(text.size() / 4 + 64);
        try (var gzip = new GZIPOutputStream(zipped)) {
            text.writeTo(gzip);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Rendered(zipped.toByteArray(), now);
    }
}
