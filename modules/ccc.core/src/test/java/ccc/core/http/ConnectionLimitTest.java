package ccc.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.config.CoreConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ConnectionLimitTest {

    private static CoreConfig.ServerSection server(String yaml) throws ConfigException {
        return new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(("adapter: {class: a.B}\n" + yaml).getBytes(StandardCharsets.UTF_8)), "test").server();
    }

    @Test
    void maxConnectionsAndHeaderBytesHaveSmallDefaultsAndAreValidated() throws Exception {
        assertEquals(512, server("").maxConnections());
        assertEquals(16 * 1024, server("").maxHeaderBytes());
        assertEquals(50, server("server: {max_connections: 50}").maxConnections());
        var refused = assertThrows(ConfigException.class, () -> server("server: {max_connections: 0}"));
        assertTrue(refused.getMessage().startsWith("server.max_connections: expected a whole number from 1 to 1000000"), refused.getMessage());
    }

    private static final long BIG_HEAP = 1L << 40;
    private static final long IMAGE_HEAP = 96L << 20;

    @Test
    void theOpenFilesLimitLeavesHeadroomOverTheConnections() {
        assertEquals(1000, ApiServer.connectionLimit(1000, OptionalLong.of(1_048_576), BIG_HEAP, 16384));
        assertEquals(1000, ApiServer.connectionLimit(1000, OptionalLong.of(1000 + ApiServer.FD_HEADROOM), BIG_HEAP, 16384));
        assertEquals(768, ApiServer.connectionLimit(1000, OptionalLong.of(1024), BIG_HEAP, 16384), "a 1,024 descriptor limit allows 768 connections");
        assertEquals(1, ApiServer.connectionLimit(1000, OptionalLong.of(100), BIG_HEAP, 16384), "at least one");
        assertEquals(1000, ApiServer.connectionLimit(1000, OptionalLong.empty(), BIG_HEAP, 16384), "no limit known");
    }

    @Test
    void connectionsWithFullHeadersFitInHalfTheHeap() {
        assertEquals(512, ApiServer.connectionLimit(512, OptionalLong.empty(), IMAGE_HEAP, 16 * 1024), "the defaults fit the image's heap");
        int withBigHeaders = ApiServer.connectionLimit(512, OptionalLong.empty(), IMAGE_HEAP, 64 * 1024);
        assertEquals(IMAGE_HEAP / 2 / (ApiServer.CONNECTION_BUFFER_BYTES + 2 * 64 * 1024), withBigHeaders);
        assertTrue(withBigHeaders < 512, withBigHeaders + " connections with 64 KiB headers");
        assertTrue((long) withBigHeaders * (40 * 1024 + 2 * 64 * 1024) <= IMAGE_HEAP / 2);
    }

    @Test
    void theOpenFilesLimitIsThisProcesssOwn() throws Exception {
        String line = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits")).stream()
                .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow();
        assertEquals(OptionalLong.of(Long.parseLong(line.split("\\s+")[3])), ApiServer.openFilesLimit());
    }
}
