package ccc.core.events;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Frames of a {@code text/event-stream} (Server-Sent Events): an optional {@code id:}, an
 * {@code event:} name and one {@code data:} line of JSON, then a blank line. JSON as the core
 * writes it holds no line break, so one {@code data:} line always carries it whole.
 */
public final class Sse {

    /** The content type of an event stream. */
    public static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";
    /** A comment line, which every client ignores: the heartbeat of an idle stream. */
    public static final byte[] HEARTBEAT = ":\n".getBytes(StandardCharsets.US_ASCII);

    private Sse() {
    }

    /** An event with an id, which a client sends back as {@code Last-Event-ID} when it reconnects. */
    public static byte[] frame(long id, String event, byte[] json) {
        return encode("id: " + id + "\nevent: " + event + "\ndata: ", json);
    }

    /**
     * An event without an id: it leaves the client's last event id as it was, so a client that
     * reconnects after it resumes after the last event it had.
     */
    public static byte[] frame(String event, byte[] json) {
        return encode("event: " + event + "\ndata: ", json);
    }

    private static byte[] encode(String head, byte[] json) {
        var frame = new ByteArrayOutputStream(head.length() + json.length + 2);
        frame.writeBytes(head.getBytes(StandardCharsets.UTF_8));
        frame.writeBytes(json);
        frame.write('\n');
        frame.write('\n');
        return frame.toByteArray();
    }
}
