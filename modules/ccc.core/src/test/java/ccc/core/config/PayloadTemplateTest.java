package ccc.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.api.Payload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PayloadTemplateTest {

    private static final Payload PAYLOAD = Payload.of(Map.of(
            "msg", "hi there", "secs", 30, "name", "n", "x", "X", "_u", "U",
            "config", Map.of("sim_users", 25, "5", "five")));

    private static String fill(String template) throws PayloadTemplate.MissingValueException {
        return PayloadTemplate.parse(template).fill(PAYLOAD);
    }

    /** Each expectation is what Python 3.11's {@code string.Template(t).safe_substitute(payload)} returns for the same payload. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "$1|$1",
            "$@|$@",
            "\"$(date)\"|\"$(date)\"",
            "cost: 5 $ each|cost: 5 $ each",
            "`$`|`$`",
            "`end $`|`end $`",
            "$?|$?",
            "$'q'|$'q'",
            "$\"q\"|$\"q\"",
            "${1}|${1}",
            "${abc|${abc",
            "${}|${}",
            "${a-b}|${a-b}",
            "$é|$é",
            "`${ x}`|`${ x}`",
            "`${x }`|`${x }`",
            "${{x}}|${{x}}",
            "$9x|$9x",
            "$secs.5|30.5",
            "${secs}.5|30.5",
            "$$|$",
            "$$1|$1",
            "$$$x|$X",
            "$$x|$x",
            "$$$|$$",
            "a$x$|aX$",
            "$x-y|X-y",
            "${_u}z|Uz",
            "$_u|U",
            "{$x}|{X}",
            "${x}}|X}",
            "${msg}|hi there",
            "printf '%s' \"$1\" > out; sleep 5|printf '%s' \"$1\" > out; sleep 5",
    })
    void fillsAsTheSafeSubstituteOfVersionTwoDoes(String template, String expected) throws Exception {
        assertEquals(expected, fill(template));
    }

    /** README, "What behaves differently": numbers as their plain value (v2.0 wrote 30.0 and 1e-05), booleans as JSON writes them. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "30.0|30", "2.50|2.5", "0.1|0.1", "1e2|100", "0.00001|0.00001", "1E-999999999|0", "-7|-7",
            "123456789012345678901234567890|123456789012345678901234567890", "true|true", "false|false",
    })
    void writesAValueOfTheRequestAsItsPlainText(String value, String expected) throws Exception {
        var payload = Payload.of(ccc.core.json.Json.readObject(("{\"v\": " + value + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(expected, PayloadTemplate.parse("$v").fill(payload));
    }

    @Test
    void aDollarThatStartsNoPlaceholderReadsNoKey() {
        for (String template : List.of("$1", "$@", "\"$(date)\"", "cost: 5 $ each", "${1}", "${abc", "${a-b}", "$$x")) {
            assertEquals(List.of(), PayloadTemplate.parse(template).keys(), template);
        }
        assertEquals(List.of("secs"), PayloadTemplate.parse("$secs.5").keys());
        assertEquals(List.of("a", "b.c"), PayloadTemplate.parse("$a-${b.c}-$1").keys());
    }

    @Test
    void onlyTheBracedFormTakesDottedKeysIntoNestedObjects() throws Exception {
        assertEquals("25", fill("${config.sim_users}"));
        assertEquals("five", fill("${config.5}"));
        assertEquals("--users=25.", fill("--users=${config.sim_users}."));
        var unbraced = assertThrows(PayloadTemplate.MissingValueException.class, () -> fill("$config.sim_users"));
        assertEquals("config", unbraced.key());
        assertEquals("payload key 'config' must be a string, number or boolean, got an object", unbraced.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"$missing", "${missing}", "a $missing.5 b", "${config.missing}"})
    void aPlaceholderThePayloadLacksNamesItsKey(String template) {
        var missing = assertThrows(PayloadTemplate.MissingValueException.class, () -> fill(template));
        String key = template.contains("config") ? "config.missing" : "missing";
        assertEquals(key, missing.key());
        assertEquals("payload key '" + key + "' is missing; the configured command needs it", missing.getMessage());
    }

    @Test
    void theTextIsKeptAsConfigured() {
        assertEquals("cost: $$5 ${x}", PayloadTemplate.parse("cost: $$5 ${x}").toString());
    }
}
