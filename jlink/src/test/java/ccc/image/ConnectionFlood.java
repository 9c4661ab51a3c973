package ccc.image;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;

/**
 * An attacker's process for the image tests: opens connections that send nothing, holds them
 * until its standard input closes, then closes them. A process of its own, since one process may
 * not hold twenty thousand sockets where the open-files limit cannot be raised.
 *
 * <p>Usage: {@code ConnectionFlood HOST PORT COUNT}; prints {@code opened N failed M}, then {@code closed}.
 */
final class ConnectionFlood {

    private ConnectionFlood() {
    }

    public static void main(String[] args) throws IOException {
        var address = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        int count = Integer.parseInt(args[2]);
        var sockets = new ArrayList<Socket>(count);
        int failed = 0;
        for (int i = 0; i < count; i++) {
            var socket = new Socket();
            try {
                socket.connect(address, 2000);
            } catch (IOException e) {
                failed++;
            }
            sockets.add(socket);
        }
        System.out.println("opened " + (count - failed) + " failed " + failed);
        System.out.flush();
        while (System.in.read() >= 0) {
            // Held until the test closes our input.
        }
        for (Socket socket : sockets) {
            socket.close();
        }
        System.out.println("closed");
        System.out.flush();
    }
}
