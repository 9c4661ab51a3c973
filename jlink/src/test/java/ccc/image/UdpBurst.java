package ccc.image;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Sends paced UDP datagrams from a chosen source port: run inside the core's network namespace,
 * it is a workload that tries to pass its traffic off as the API's.
 *
 * <p>Usage: {@code UdpBurst FROM_ADDRESS FROM_PORT TO_ADDRESS TO_PORT COUNT BYTES INTERVAL_MICROS}
 */
public final class UdpBurst {

    private UdpBurst() {
    }

    public static void main(String[] args) throws Exception {
        var from = new InetSocketAddress(InetAddress.getByName(args[0]), Integer.parseInt(args[1]));
        var to = new InetSocketAddress(InetAddress.getByName(args[2]), Integer.parseInt(args[3]));
        int count = Integer.parseInt(args[4]);
        byte[] data = new byte[Integer.parseInt(args[5])];
        long intervalNanos = Long.parseLong(args[6]) * 1000;
        try (var socket = new DatagramSocket(from)) {
            long next = System.nanoTime();
            for (int i = 0; i < count; i++) {
                socket.send(new DatagramPacket(data, data.length, to));
                next += intervalNanos;
                while (System.nanoTime() < next) {
                    Thread.onSpinWait();
                }
            }
        }
    }
}
