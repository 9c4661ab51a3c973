package ccc.adapter.example;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** A loopback HTTP server that answers every request 200 and counts them, for the flow runner to hit. */
final class TinyHttpServer implements AutoCloseable {

    private final ServerSocket server = new ServerSocket(0);
    private final AtomicInteger served = new AtomicInteger();

    TinyHttpServer() throws IOException {
        Thread.ofVirtual().start(this::serve);
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/";
    }

    int served() {
        return served.get();
    }

    private void serve() {
        while (!server.isClosed()) {
            try {
                var socket = server.accept();
                Thread.ofVirtual().start(() -> answer(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void answer(java.net.Socket socket) {
        try (socket) {
            var in = socket.getInputStream();
            byte[] buffer = new byte[4096];
            var request = new StringBuilder();
            while (!request.toString().contains("\r\n\r\n")) {
                int read = in.read(buffer);
                if (read < 0) {
                    return;
                }
                request.append(new String(buffer, 0, read, StandardCharsets.ISO_8859_1));
            }
            served.incrementAndGet();
            socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        } catch (IOException ignored) {
            // The client went away.
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
