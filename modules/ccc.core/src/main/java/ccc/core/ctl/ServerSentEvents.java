package ccc.core.ctl;

import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * Reads a {@code text/event-stream} as the HTML standard's event-stream parser does: lines of
 * {@code field: value} until a blank line dispatches the event; comment lines (the heartbeat)
 * and blank lines with no data are skipped; {@code id} persists as the last event id. A line,
 * and an event's data, longer than {@link #MAX_DATA_CHARS} end the stream with an
 * {@link IOException}.
 */
public final class ServerSentEvents implements AutoCloseable {

    /** The longest data an event may have, over all its {@code data:} lines, in characters: as long as one line may be. */
    public static final int MAX_DATA_CHARS = BoundedLineReader.MAX_LINE_CHARS;

    /**
     * One event.
     *
     * @param id its own {@code id:} field, or null when it had none (it then leaves {@link #lastEventId()} as it was)
     * @param type its {@code event:} field, {@code message} by default
     * @param data its {@code data:} lines, joined by line feeds
     */
    public record Event(String id, String type, String data) {
    }

    private final BoundedLineReader reader;
    private String lastEventId = "";

    public ServerSentEvents(InputStream in) {
        this.reader = new BoundedLineReader(in);
    }

    /** The next event, waiting for it; empty when the stream has ended. */
    public Optional<Event> next() throws IOException {
        String id = null;
        String type = null;
        StringBuilder data = null;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) {
                    if (id != null) {
                        lastEventId = id;
                    }
                    return Optional.of(new Event(id, type == null ? "message" : type, data.toString()));
                }
                id = null;
                type = null;
                continue;
            }
            if (line.startsWith(":")) {
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "event" -> type = value;
                case "data" -> {
                    if (data != null && value.length() + 1 > MAX_DATA_CHARS - data.length()) {
                        throw new IOException("an event's data is longer than " + MAX_DATA_CHARS + " characters");
                    }
                    data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                }
                case "id" -> {
                    if (value.indexOf('\0') < 0) {
                        id = value;
                    }
                }
                default -> {
                    // retry, and fields the standard ignores.
                }
            }
        }
        return Optional.empty();
    }

    /** Whether more of the stream is already here, so that printing may wait before it flushes. */
    public boolean more() throws IOException {
        return reader.ready();
    }

    /** The id of the last event that had one: what a client sends as {@code Last-Event-ID} when it reconnects. */
    public String lastEventId() {
        return lastEventId;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
