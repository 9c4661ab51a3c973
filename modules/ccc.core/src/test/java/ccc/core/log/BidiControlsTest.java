package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/**
 * The workload's text reaches operators' terminals and log viewers through the core's log and
 * {@code ccc ctl} ({@link Log#oneLine}). Beside the control characters, the Unicode bidirectional
 * overrides and isolates (U+202A to U+202E, U+2066 to U+2069) change how a line is shown: text
 * after U+202E reads right to left where the terminal or viewer applies the bidi algorithm, so a
 * workload can show one thing and log another ("Trojan Source"). They are escaped as the
 * controls are.
 */
class BidiControlsTest {

    @Test
    void bidiOverridesAndIsolatesAreEscaped() {
        for (char control : new char[] {'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'}) {
            String shown = Log.oneLine("exit_code=0 " + control + "1=edoc_tixe");
            assertFalse(shown.indexOf(control) >= 0, () -> String.format("U+%04X reaches the terminal raw: %s", (int) control, shown));
        }
    }
}
