package ccc.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a {@code text/event-stream} for the image tests: each event's id, type and data; comment lines (heartbeats) are counted and skipped. */
final class EventStreamReader {

    /** One event; {@code id} is null when it had none. */
    record Event(String id, String type, String data) {
        long idNumber() {
            return Long.parseLong(id);
        }

        /** A top-level field of the data as it is written, such as {@code "phase"} or {@code 137}; null when absent. */
        String field(String name) {
            Matcher matcher = Pattern.compile("\"" + Pattern.quote(name) + "\":(\"(?:[^\"\\\\]|\\\\.)*\"|[^,}\\]]+)").matcher(data);
            return matcher.find() ? matcher.group(1).replaceAll("^\"|\"$", "") : null;
        }
    }

    private final BufferedReader reader;
    private int comments;

    EventStreamReader(InputStream in) {
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    /** The events of a whole stream as text (what {@code curl -N} wrote), in order. */
    static List<Event> parse(String text) throws IOException {
        var reader = new EventStreamReader(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        var events = new ArrayList<Event>();
        for (Event event = reader.next(); event != null; event = reader.next()) {
            events.add(event);
        }
        return events;
    }

    /** The next event, or null at the end of the stream. */
    Event next() throws IOException {
        String id = null;
        String type = "message";
        String data = null;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) {
                    return new Event(id, type, data);
                }
            } else if (line.startsWith(":")) {
                comments++;
            } else if (line.startsWith("id: ")) {
                id = line.substring(4);
            } else if (line.startsWith("event: ")) {
                type = line.substring(7);
            } else if (line.startsWith("data: ")) {
                data = data == null ? line.substring(6) : data + "\n" + line.substring(6);
            }
        }
        return null;
    }

    /** How many comment lines (heartbeats) came so far. */
    int comments() {
        return comments;
    }
}
