package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime image's {@code ccc ctl} against a server that streams one line that never ends (a
 * hostile or broken server, a proxy gone wrong): {@code events} and {@code logs -f} read a line
 * at a time with no bound, and the client's small heap runs out within seconds. It should end
 * as a broken connection does (exit 3, one line saying why), not with the JVM's
 * {@code OutOfMemoryError} and a stack trace under exit code 1, which says "the core refused".
 */
class CtlHostileServerIT {

    @TempDir
    Path work;

    private ServerSocket server;

    @AfterEach
    void close() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    /** Answers every request with a 200 stream whose one line never ends. */
    private int endlessLineServer(String contentType, String lineStart) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (client) {
                            client.getInputStream().read(new byte[8192]);
                            OutputStream out = client.getOutputStream();
                            out.write(("HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nConnection: close\r\n\r\n" + lineStart)
                                    .getBytes(StandardCharsets.US_ASCII));
                            byte[] chunk = "a".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
                            for (long sent = 0; sent < 4L * 1024 * 1024 * 1024; sent += chunk.length) {
                                out.write(chunk);
                            }
                        } catch (IOException e) {
                            // The client went.
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server.getLocalPort();
    }

    private void assertEndsAsABrokenConnection(List<String> args) throws Exception {
        var command = new java.util.ArrayList<>(List.of(ImageProcess.IMAGE.resolve("bin/ccc").toString(), "ctl"));
        command.addAll(args);
        Path out = Files.createTempFile(work, "ctl", ".out");
        Path err = Files.createTempFile(work, "ctl", ".err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean ended = process.waitFor(120, TimeUnit.SECONDS);
        if (!ended) {
            process.destroyForcibly().waitFor();
        }
        assertTrue(ended, "ccc ctl " + args + " ended within 120 s");
        String stderr = Files.readString(err);
        assertFalse(stderr.contains("OutOfMemoryError"), () -> "ccc ctl " + args + " ran out of heap on one endless line: "
                + stderr.lines().limit(3).toList());
        assertEquals(3, process.exitValue(), () -> "exit code for a server that sent no usable answer: " + stderr.lines().limit(3).toList());
    }

    @Test
    void ctlEventsSurvivesAnEndlessDataLine() throws Exception {
        int port = endlessLineServer("text/event-stream", "data: \"");
        assertEndsAsABrokenConnection(List.of("--url", "http://127.0.0.1:" + port, "events"));
    }

    @Test
    void ctlLogsFollowSurvivesAnEndlessLine() throws Exception {
        int port = endlessLineServer("application/x-ndjson", "{\"line\": \"");
        assertEndsAsABrokenConnection(List.of("--url", "http://127.0.0.1:" + port, "logs", "-f"));
    }
}
