package ccc.core.sdk;

import ccc.core.json.Json;
import ccc.core.log.FatalErrors;
import ccc.core.process.NoFollowFiles;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The JSON file Showrunner writes an app's configuration to, read as a start payload with the
 * limits of a request body. The core reads it as root from a volume its workload may be able to
 * write to, so it reads through {@link NoFollowFiles}: a symbolic link on the path is followed
 * only where nobody but root can have made it, as in a Kubernetes ConfigMap volume (a directory
 * the workload swapped for a link to a root-only one is refused), only a regular file
 * is read and it is opened without waiting for a writer (a FIFO swapped in is refused at once);
 * it reads no more than the limit, on a platform thread, gives up a read that still hangs, and
 * never quotes the file's content in a reason (which {@code /healthz} shows to anyone).
 */
public final class SdkConfigFile {

    /** How long one read may take: a file replaced by a FIFO, or a stalled network file system, would hang it. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

    /** What a read found. */
    public sealed interface Reading {
    }

    /** The file held a JSON object within the limits. */
    public record Found(Map<String, Object> payload) implements Reading {
    }

    /** There is no file: the SDK reads that as an empty configuration. */
    public record Missing() implements Reading {
    }

    /** The file cannot be used; {@code reason} names the file and says why, quoting none of it. */
    public record Refused(String reason) implements Reading {
    }

    private final Path path;
    private final long maxBytes;
    // A read that did not return within the timeout; while it hangs no other is begun, so hung reads never pile up.
    private Future<Reading> hung;

    /**
     * @param path the file ({@code showrunner_sdk.config_path})
     * @param maxBytes the largest file read ({@code server.max_body_bytes}, the limit of a start body)
     */
    public SdkConfigFile(Path path, long maxBytes) {
        this.path = path;
        this.maxBytes = maxBytes;
    }

    public Path path() {
        return path;
    }

    /** Reads the file, within {@link #READ_TIMEOUT}. Reads are meant to come one at a time. */
    public synchronized Reading read() {
        if (hung != null && !hung.isDone()) {
            return new Refused(path + " could not be read: an earlier read of it has not returned after " + READ_TIMEOUT.toSeconds() + " s");
        }
        var reading = new FutureTask<>(this::readNow);
        // A platform thread: a read that blocks in the kernel (a stalled network file system) holds
        // only this thread, never a carrier the HTTP server's virtual threads need.
        try {
            Thread.ofPlatform().name("sdk-config-read").daemon(true).start(reading);
        } catch (OutOfMemoryError e) {
            // A workload that takes every place of the container's process limit can cause it.
            if (!FatalErrors.noThreadLeft(e)) {
                throw e;
            }
            return new Refused(path + " could not be read: no thread could be started for the read (" + e.getMessage() + ")");
        }
        try {
            return reading.get(READ_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            hung = reading;
            reading.cancel(true);
            return new Refused(path + " could not be read within " + READ_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            return new Refused(path + " could not be read: " + e.getCause().getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reading.cancel(true);
            return new Refused(path + " could not be read: interrupted");
        }
    }

    private Reading readNow() {
        byte[] content;
        try {
            content = NoFollowFiles.read(path, (int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        } catch (NoSuchFileException e) {
            return new Missing();
        } catch (IOException e) {
            // The message names the component (a link, a FIFO, ...), never the content.
            return new Refused(path + " cannot be read: " + e.getMessage());
        }
        if (content.length > maxBytes) {
            return tooLarge();
        }
        try {
            return new Found(Json.readObject(content));
        } catch (Json.InvalidJson e) {
            return new Refused(path + " " + e.problem());
        }
    }

    private Refused tooLarge() {
        return new Refused(path + " is larger than the limit of " + maxBytes + " bytes (server.max_body_bytes)");
    }
}
