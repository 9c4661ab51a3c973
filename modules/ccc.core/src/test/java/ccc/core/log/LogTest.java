package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogTest {

    @Test
    void timestampsAlwaysHaveSixFractionalDigits() {
        assertEquals("2026-01-02T03:04:05.000000Z", Timestamps.format(Instant.parse("2026-01-02T03:04:05Z")));
        assertEquals("2026-01-02T03:04:05.000007Z", Timestamps.format(Instant.parse("2026-01-02T03:04:05.000007891Z")));
        assertEquals("1999-12-31T23:59:59.123456Z", Timestamps.format(Instant.parse("1999-12-31T23:59:59.123456Z")));
    }

    @Test
    void textLinesAreOneLineWithQuotedValues() {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("pid", 42);
        fields.put("reason", "two words\nand a break");
        String line = Log.textLine(Instant.parse("2026-01-02T03:04:05Z"), Level.INFO, "lifecycle", "started", fields);
        assertEquals("2026-01-02T03:04:05.000000Z INFO lifecycle: started pid=42 reason=\"two words\\nand a break\"", line);
    }

    @Test
    void jsonLinesParseAsJson() throws Exception {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("pid", 42);
        fields.put("detail", "quote \" backslash \\ tab \t");
        String line = Log.jsonLine(Instant.parse("2026-01-02T03:04:05Z"), Level.WARNING, "http", "odd \u0001", fields);
        Map<String, Object> parsed = JSON.std.mapFrom(line);
        assertEquals("2026-01-02T03:04:05.000000Z", parsed.get("timestamp"));
        assertEquals("WARNING", parsed.get("level"));
        assertEquals("http", parsed.get("logger"));
        assertEquals("odd \u0001", parsed.get("message"));
        assertEquals(42, parsed.get("pid"));
        assertEquals("quote \" backslash \\ tab \t", parsed.get("detail"));
        assertTrue(!line.contains("\n"));
    }

    @Test
    void levelsAreReadAsPythonNamesThem() {
        assertEquals(Level.WARNING, Level.parse("warning"));
        assertEquals(Level.WARNING, Level.parse("WARN"));
        assertEquals(Level.ERROR, Level.parse("CRITICAL"));
        assertEquals(Level.DEBUG, Level.parse(" debug "));
    }
}
