package ccc.core.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The line reader of {@code ccc ctl}'s streams: lines as {@code BufferedReader} reads them, each within its bound. */
class BoundedLineReaderTest {

    private static InputStream bytes(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A stream that sends {@code start} and then one character for ever. */
    private static InputStream endless(String start) {
        InputStream forever = new InputStream() {
            @Override
            public int read() {
                return 'a';
            }
        };
        return new SequenceInputStream(bytes(start), forever);
    }

    private static List<String> lines(String text) throws IOException {
        var lines = new ArrayList<String>();
        try (var reader = new BoundedLineReader(bytes(text))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line);
            }
        }
        return lines;
    }

    @Test
    void endsLinesAtALineFeedACarriageReturnOrBoth() throws IOException {
        assertEquals(List.of("a", "b", "c", "", "d", "é"), lines("a\nb\r\nc\r\rd\r\né"));
        assertEquals(List.of("", ""), lines("\n\r\n"));
        assertEquals(List.of(), lines(""));
    }

    @Test
    void readsALineAsLongAsTheBound() throws IOException {
        String longest = "x".repeat(BoundedLineReader.MAX_LINE_CHARS);
        assertEquals(List.of(longest, "next"), lines(longest + "\nnext\n"));
    }

    @Test
    void refusesALineThatNeverEnds() {
        var reader = new BoundedLineReader(endless("{\"line\": \""));
        IOException refused = assertThrows(IOException.class, reader::readLine);
        assertTrue(refused.getMessage().contains("longer than " + BoundedLineReader.MAX_LINE_CHARS), refused.getMessage());
    }

    @Test
    void serverSentEventsRefuseAnEndlessDataLine() {
        var events = new ServerSentEvents(endless("data: \""));
        assertThrows(IOException.class, events::next);
    }

    @Test
    void serverSentEventsRefuseAnEventWhoseDataLinesNeverEnd() {
        String line = "data: " + "x".repeat(1000) + "\n";
        InputStream manyLines = new InputStream() {
            private int position;

            @Override
            public int read() {
                return line.charAt(position++ % line.length());
            }
        };
        var events = new ServerSentEvents(manyLines);
        IOException refused = assertThrows(IOException.class, events::next);
        assertTrue(refused.getMessage().contains("data is longer than " + ServerSentEvents.MAX_DATA_CHARS), refused.getMessage());
    }

    @Test
    void serverSentEventsReadAsBefore() throws IOException {
        var events = new ServerSentEvents(bytes(": heartbeat\r\nid: 7\r\nevent: phase\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n"));
        assertEquals(new ServerSentEvents.Event("7", "phase", "{\"a\":\n1}"), events.next().orElseThrow());
        assertTrue(events.next().isEmpty());
    }
}
