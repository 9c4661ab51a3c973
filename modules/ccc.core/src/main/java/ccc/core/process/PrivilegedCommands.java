package ccc.core.process;

import ccc.core.log.Log;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs configured argv lists as the core's own user, in order, each bounded by a timeout, output to the log. */
public final class PrivilegedCommands {

    private static final Log LOG = Log.named("privileged");

    private PrivilegedCommands() {
    }

    /** Why a privileged command failed: the command and its stderr. */
    public static final class CommandFailedException extends Exception {
        private static final long serialVersionUID = 1L;

        CommandFailedException(String message) {
            super(message);
        }
    }

    /** Runs one command; fails with its exit code and output when it does not exit 0 in time. */
    public static void run(List<String> command, Duration timeout) throws CommandFailedException, InterruptedException {
        run(command, timeout, true);
    }

    /** As {@link #run(List, Duration)}, logging nothing: for commands whose failure is expected. */
    public static void runQuietly(List<String> command, Duration timeout) throws CommandFailedException, InterruptedException {
        run(command, timeout, false);
    }

    private static void run(List<String> command, Duration timeout, boolean logged) throws CommandFailedException, InterruptedException {
        String shown = String.join(" ", command);
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException | RuntimeException e) {
            throw new CommandFailedException("privileged command '" + shown + "' could not start: " + e.getMessage());
        }
        var output = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (var in = process.getInputStream()) {
                // Bounded: a chatty command must not grow the core's memory without limit.
                byte[] bytes = in.readNBytes(64 * 1024);
                in.transferTo(java.io.OutputStream.nullOutputStream());
                synchronized (output) {
                    output.append(new String(bytes, StandardCharsets.UTF_8).strip());
                }
            } catch (IOException ignored) {
                // The process is gone; whatever was read is reported.
            }
        });
        boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            ProcessTree.kill(process.pid());
        }
        reader.join(Duration.ofSeconds(2));
        String text;
        synchronized (output) {
            text = output.toString();
        }
        if (!text.isEmpty() && logged) {
            LOG.info("privileged command output", "command", shown, "output", text);
        }
        if (!finished) {
            throw new CommandFailedException("privileged command '" + shown + "' timed out after " + timeout.toSeconds() + " s");
        }
        if (process.exitValue() != 0) {
            throw new CommandFailedException("privileged command '" + shown + "' exited with " + process.exitValue()
                    + (text.isEmpty() ? "" : ": " + text));
        }
        if (logged) {
            LOG.info("privileged command done", "command", shown);
        }
    }
}
