package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What outside text can do to a log line: nothing but appear in it, escaped, bounded, with secrets masked. */
class LogBoundsTest {

    private static final Instant TIME = Instant.parse("2026-01-02T03:04:05Z");

    @AfterEach
    void restore() {
        Log.redirect(System.out);
        Log.configure(Level.INFO, Log.Format.TEXT);
    }

    @Test
    void textLinesEscapeEveryControlCharacterAndTheUnicodeSeparators() {
        String hostile = "a\u001b[31mred\u0007\u0000 tab\tdel\u007f c1\u0085\u009b ls\u2028ps\u2029 cr\r lf\n end";
        String line = Log.textLine(TIME, Level.INFO, "workload", hostile, Map.of("value", hostile));
        String escaped = "a\\u001b[31mred\\u0007\\u0000 tab\\tdel\\u007f c1\\u0085\\u009b ls\\u2028ps\\u2029 cr\\r lf\\n end";
        assertEquals("2026-01-02T03:04:05.000000Z INFO workload: " + escaped + " value=\"" + escaped + "\"", line);
        for (char c = 0; c < 0xa0; c++) {
            if (c < 0x20 || c >= 0x7f) {
                assertEquals(-1, line.indexOf(c), "character " + (int) c + " reaches the line");
            }
        }
        assertEquals(-1, line.indexOf('\u2028'));
        assertEquals(-1, line.indexOf('\u2029'));
    }

    @Test
    void printableTextIsLeftAlone() {
        String text = "plain ASCII, accents é ü, CJK 漢字, emoji \uD83D\uDE00, backslash \\ and NBSP\u00a0";
        assertEquals(text, Log.oneLine(text));
    }

    @Test
    void jsonLinesEscapeTheUnicodeSeparatorsAndControlsAndStillParse() throws Exception {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("line", "ls\u2028ps\u2029 esc\u001b del\u007f c1\u0085");
        String line = Log.jsonLine(TIME, Level.INFO, "workload", "m\u2028", fields);
        assertFalse(line.contains("\u2028") || line.contains("\u2029") || line.contains("\u001b") || line.contains("\u0085"), line);
        assertTrue(line.contains("\\u2028") && line.contains("\\u2029") && line.contains("\\u001b") && line.contains("\\u007f"), line);
        Map<String, Object> parsed = JSON.std.mapFrom(line);
        assertEquals("ls\u2028ps\u2029 esc\u001b del\u007f c1\u0085", parsed.get("line"));
        assertEquals("m\u2028", parsed.get("message"));
    }

    @Test
    void longValuesAndMessagesAreCutAndSaySo() {
        var out = capture();
        String huge = "x".repeat(300_000);
        Log.named("http").warn(huge, "path", huge);
        String line = out.toString(StandardCharsets.UTF_8);
        assertTrue(line.length() < 3 * Log.MAX_VALUE_CHARS, "line of " + line.length() + " characters");
        assertTrue(line.contains("…(cut; 300000 characters in all)"), line.substring(line.length() - 200));
        assertEquals(2, line.split("cut; 300000 characters in all", -1).length - 1, "message and field both cut");
    }

    @Test
    void aSecretAtTheCutIsMaskedNotLeftHalfVisible() {
        var out = capture();
        var secrets = new Redactor();
        String secret = "s3cr3t-" + "q".repeat(100);
        secrets.learn(Map.of("password", secret));
        String value = "y".repeat(Log.MAX_VALUE_CHARS - 20) + secret + "z".repeat(20_000);
        Log.named("test", secrets).info("event", "value", value);
        String line = out.toString(StandardCharsets.UTF_8);
        assertFalse(line.contains("s3cr3t"), "no part of the secret before the cut");
        assertTrue(line.contains("y***"), line.substring(line.length() - 200));
    }

    @Test
    void fieldsAreMaskedButTheCoresOwnMessagesAreNot() {
        var out = capture();
        var secrets = new Redactor();
        secrets.learn(Map.of("password", "stop requested!", "token", "abc-123-xyz"));
        Log.named("lifecycle", secrets).info("stop requested!", "reason", "token abc-123-xyz and stop requested!");
        String line = out.toString(StandardCharsets.UTF_8);
        assertTrue(line.contains("lifecycle: stop requested! reason=\"token *** and ***\""), line);
    }

    @Test
    void messagesFromAdaptersAreMasked() {
        var out = capture();
        var secrets = new Redactor();
        secrets.learn(Map.of("password", "abc-123-xyz"));
        new SystemLoggerAdapter("adapter", secrets).log(System.Logger.Level.INFO, "connecting with abc-123-xyz");
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("adapter: connecting with ***"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void eachSupervisorsLogsMaskItsOwnSecretsAndNoOthersReplaceThem() {
        var out = capture();
        var first = new Redactor();
        var second = new Redactor();
        first.learn(Map.of("password", "first-secret-1"));
        Log firstsLifecycle = Log.named("lifecycle", first);
        second.learn(Map.of("password", "second-secret-2"));
        Log secondsLifecycle = Log.named("lifecycle", second);

        firstsLifecycle.info("start requested", "payload", "first-secret-1");
        secondsLifecycle.info("start requested", "payload", "second-secret-2");
        Log.named("http").info("request", "path", "first-secret-1");
        String lines = out.toString(StandardCharsets.UTF_8);
        assertFalse(lines.contains("first-secret-1 ") || lines.contains("payload=first-secret-1"),
                "a second supervisor does not take the first one's secrets away: " + lines);
        assertFalse(lines.contains("payload=second-secret-2"), lines);
        assertEquals(2, lines.split("payload=\\*\\*\\*", -1).length - 1, lines);
        assertTrue(lines.contains("http: request path=first-secret-1"),
                "a process-wide component knows no supervisor's secrets (it logs no payload's values): " + lines);
    }

    private static ByteArrayOutputStream capture() {
        var out = new ByteArrayOutputStream();
        Log.redirect(new PrintStream(out, true, StandardCharsets.UTF_8));
        return out;
    }
}
