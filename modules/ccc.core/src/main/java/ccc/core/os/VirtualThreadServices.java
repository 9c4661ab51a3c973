package ccc.core.os;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Starts the platform threads the JDK keeps for virtual threads, which it would otherwise start
 * on their first use: the poller that wakes a virtual thread waiting on a socket (the first
 * request whose body takes a second read) and the timer that wakes one from a sleep. A
 * container's process limit ({@code pids.max}) counts the core's threads and the workload's
 * processes together, and a workload that forks until it is full would make that first use fail
 * with "unable to create native thread" in the JDK's own class initialisation, which leaves the
 * poller broken for good and the core with it. Launches wait for this, so they exist before any
 * workload does.
 */
public final class VirtualThreadServices {

    private VirtualThreadServices() {
    }

    /** Makes a virtual thread wait once on a socket and once in a sleep; returns once both were woken. */
    public static void start() throws IOException, InterruptedException {
        Thread sleeper = Thread.ofVirtual().name("start-virtual-thread-timer").start(() -> {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (var server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                var client = SocketChannel.open(server.getLocalAddress());
                var accepted = server.accept()) {
            Thread reader = Thread.ofVirtual().name("start-virtual-thread-poller").start(() -> {
                try {
                    accepted.read(ByteBuffer.allocate(1));
                } catch (IOException e) {
                    // Woken all the same.
                }
            });
            // Only a read that finds nothing to read waits on the poller: the byte is written once the reader waits.
            while (reader.isAlive() && reader.getState() != Thread.State.WAITING) {
                // Called on a virtual thread, which a spin would never unmount: with one carrier the reader would never run.
                Thread.yield();
            }
            client.write(ByteBuffer.wrap(new byte[] {1}));
            reader.join();
        }
        sleeper.join();
    }
}
