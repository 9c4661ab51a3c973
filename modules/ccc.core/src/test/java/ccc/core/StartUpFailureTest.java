package ccc.core;

import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.core.config.ConfigLoader;
import ccc.core.process.PrivilegeDrop;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A core whose set-up fails after it began to listen leaves nothing listening. */
class StartUpFailureTest {

    @Test
    void aSetUpThatFailsAfterListeningClosesThePort() throws Exception {
        int port;
        try (var probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        String yaml = TestCore.BASE_CONFIG.replace("port: 0", "port: " + port);
        var config = new ConfigLoader(Map.of()).parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test config");
        // No adapter and no process_management: the supervisor refuses, after the server was bound.
        assertThrows(IllegalArgumentException.class, () -> Core.start(config, Optional.empty(), "none", PrivilegeDrop.system()));
        try (var again = new ServerSocket()) {
            again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }
}
