package ccc.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.sun.net.httpserver.HttpServer;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What {@link ApiServer#prepareInBackground()} formats is what the JDK's server writes, so the work it takes off the first answer is that answer's. */
class DateHeaderTest {

    @Test
    void theWarmUpFormatsTheDateHeaderAsTheServerWritesIt() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        try {
            var connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/").toURL().openConnection();
            assertEquals(204, connection.getResponseCode());
            String written = connection.getHeaderField("Date");
            assertNotNull(written, "the JDK's server writes a Date header");
            Instant instant = ZonedDateTime.parse(written, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            assertEquals(written, ApiServer.formatDateHeader(instant));
            String zoneName = DateTimeFormatter.ofPattern(ApiServer.DATE_HEADER_ZONE_PATTERN, java.util.Locale.US)
                    .withZone(java.time.ZoneId.of("GMT")).format(instant);
            assertEquals(written.substring(written.lastIndexOf(' ') + 1), zoneName, "the zone's name is the header's last part");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void theWarmUpRunsOnDaemonThreadsThatEnd() throws Exception {
        var threads = ApiServer.prepareInBackground();
        assertEquals(2, threads.size());
        for (Thread thread : threads) {
            assertEquals(true, thread.isDaemon(), thread.getName());
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(thread.isAlive(), "the warm-up ends: " + thread.getName());
        }
    }
}
