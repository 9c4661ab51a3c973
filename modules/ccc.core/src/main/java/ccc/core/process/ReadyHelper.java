package ccc.core.process;

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A {@code ccc-exec} helper started ahead of the workload it becomes ({@code ccc-exec
 * --await-command}): spawned while no start waits for it, it waits for its command on a pipe,
 * so that a start costs one write rather than a spawn. Until then it runs as the core's user in
 * a session of its own, holds nothing but its pipes, dies with the core (parent-death signal)
 * and exits when its command pipe ends empty ({@link #discard()}). Once it has its command it
 * does what a helper spawned with that command line would, and the launch waits for its exec,
 * as a JDK process start does: a failure before the exec (a program that is not there, a working
 * directory the user cannot enter) comes back on its exec-status pipe and fails the launch with
 * the helper's reason ({@link NotStartedException}), so no workload that never ran is reported running.
 */
final class ReadyHelper {

    /** The bound on one command message, arguments and environment together; {@code ccc-exec}'s is the same. */
    static final int MAX_COMMAND_MESSAGE = 4 * 1024 * 1024;

    /**
     * How long a helper may take to read its command: one that reads nothing (stopped, as its own
     * user may stop it when the core is not root) is killed then, so that the launch goes on in
     * another rather than wait for ever. A helper that reads takes the largest message in milliseconds.
     */
    static final Duration HAND_OVER_WITHIN = Duration.ofSeconds(5);

    /** The bound on the reason a helper gives for not starting its workload; {@code ccc-exec}'s is the same. */
    static final int MAX_REFUSAL_BYTES = 1024;

    private final SpawnedProcess process;
    // The write end of the helper's command pipe; null once the command went, or the helper was let go.
    private OutputStream command;
    // The read end of its exec-status pipe, which its exec closes.
    private final InputStream status;

    private ReadyHelper(SpawnedProcess process, OutputStream command, InputStream status) {
        this.process = process;
        this.command = command;
        this.status = status;
    }

    /** The helper took its command but did not start the workload: the message is its reason. */
    static final class NotStartedException extends IOException {
        private static final long serialVersionUID = 1L;

        NotStartedException(String reason) {
            super(reason, null);
        }
    }

    /** The helper ended (or was ended) before it took its command: another can be tried. */
    static final class GoneException extends IOException {
        private static final long serialVersionUID = 1L;

        GoneException(String message) {
            super(message, null);
        }
    }

    /**
     * Starts {@code helper} awaiting its command, from this thread, which becomes its parent
     * thread (see {@link PosixSpawn#start(List, List, int...)}).
     */
    static ReadyHelper start(String helper) throws IOException {
        int[] pipe = PosixSpawn.pipe();
        int[] statusPipe = null;
        try {
            statusPipe = PosixSpawn.pipe();
            // Streams of the JDK's on the core's ends, opened again through /proc: their reads and writes need no downcall.
            var command = new FileOutputStream(PosixSpawn.OWN_DESCRIPTORS.resolve(Integer.toString(pipe[1])).toFile());
            InputStream status = null;
            try {
                status = PosixSpawn.reopen(statusPipe[0]);
                int commandEnd = pipe[0];
                int statusEnd = statusPipe[1];
                return new ReadyHelper(LauncherChildren.started(() -> PosixSpawn.startAwaiting(helper, commandEnd, statusEnd), true),
                        command, status);
            } catch (IOException | RuntimeException e) {
                command.close();
                if (status != null) {
                    status.close();
                }
                throw e;
            }
        } finally {
            // The helper holds its own copies: its status pipe ends when it execs or exits, not while the core holds one.
            for (int[] ends : new int[][] {pipe, statusPipe}) {
                if (ends != null) {
                    Native.close(ends[0]);
                    Native.close(ends[1]);
                }
            }
        }
    }

    /** Whether it still waits for its command. */
    boolean waiting() {
        return command != null && process.isAlive();
    }

    /**
     * Hands {@code message} ({@link #message(List, List)}: {@code ccc-exec}'s options, {@code --},
     * the program and its arguments, and the workload's whole environment) to the helper, which
     * becomes the workload.
     *
     * @throws GoneException if the helper had ended before it took the command, or was killed
     *     because it had not taken it, or not exec'd the workload, within {@link #HAND_OVER_WITHIN}
     * @throws NotStartedException if it took the command but did not exec the workload, with its reason
     */
    SpawnedProcess run(byte[] message) throws IOException {
        OutputStream out = command;
        command = null;
        LauncherChildren.helperLeft(process.pid());
        // A write that fills the pipe waits for the helper to read, and the status read for its exec; one that does
        // neither is killed, which ends the write or the read. A virtual thread waits for that (its sleep uses the
        // virtual threads' own timer): the core gains no platform thread.
        var killed = new java.util.concurrent.atomic.AtomicBoolean();
        Thread killUnlessStarted = Thread.ofVirtual().name("hand-over-to-" + process.pid()).start(() -> {
            try {
                Thread.sleep(HAND_OVER_WITHIN);
                killed.set(true);
                process.destroyForcibly();
            } catch (InterruptedException e) {
                // Started in time.
            }
        });
        String refusal;
        try {
            try (out) {
                out.write(message);
            } catch (IOException e) {
                // Broken pipe: it has ended. It gets no command now in any case, so it exits.
                closeOutput();
                throw new GoneException("the helper " + process.pid() + " started ahead did not take the command: " + e.getMessage());
            }
            try (status) {
                refusal = new String(status.readNBytes(MAX_REFUSAL_BYTES), StandardCharsets.UTF_8).strip();
            }
        } finally {
            killUnlessStarted.interrupt();
        }
        if (!refusal.isEmpty()) {
            closeOutput();
            throw new NotStartedException(refusal);
        }
        if (killed.get()) {
            // Killed before its exec, so the workload never ran in it: the launch may go on in another.
            closeOutput();
            throw new GoneException("the helper " + process.pid() + " started ahead had not started the workload within "
                    + HAND_OVER_WITHIN.toSeconds() + " s and was killed");
        }
        return process;
    }

    /** Lets the helper go unused: its command pipe ends empty, so it exits. */
    void discard() {
        LauncherChildren.helperLeft(process.pid());
        if (command != null) {
            try {
                command.close();
            } catch (IOException e) {
                // Closed all the same.
            }
            command = null;
            closeOutput();
        }
    }

    /** The message {@code ccc-exec} reads: NUL-terminated strings, the number of arguments first. */
    static byte[] message(List<String> arguments, List<String> environment) throws IOException {
        PosixSpawn.requireNoNul(arguments);
        PosixSpawn.requireNoNul(environment);
        var bytes = new ByteArrayOutputStream(4096);
        bytes.writeBytes(Integer.toString(arguments.size()).getBytes(StandardCharsets.US_ASCII));
        bytes.write(0);
        for (List<String> strings : List.of(arguments, environment)) {
            for (String text : strings) {
                bytes.writeBytes(text.getBytes(StandardCharsets.UTF_8));
                bytes.write(0);
                if (bytes.size() > MAX_COMMAND_MESSAGE) {
                    throw new IOException("the workload's command and environment take more than " + MAX_COMMAND_MESSAGE + " bytes");
                }
            }
        }
        return bytes.toByteArray();
    }

    /** Closes the output pipes' read ends, which nobody pumps when no workload comes of the helper. */
    private void closeOutput() {
        for (var stream : List.of(process.getInputStream(), process.getErrorStream(), status)) {
            try {
                stream.close();
            } catch (IOException e) {
                // Nothing was read from it.
            }
        }
    }
}
