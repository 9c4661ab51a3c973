package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.Year;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Command templates written for the Python core v2.0, whose {@code safe_substitute} keeps a
 * {@code $} that starts no placeholder: they load, and their {@code sh -c} scripts run as there.
 */
class VersionTwoTemplatesTest {

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @TempDir
    Path work;

    @AfterEach
    void stopCore() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    @Test
    void shellDollarsArePassedToTheShellAndPlaceholdersAreFilled() throws Exception {
        core = TestCore.start(null, """
                process_management:
                  enabled: true
                  command: ["sh", "-c", "echo \\"first=$1\\"; echo \\"all=$@\\"; echo \\"year=$(date +%Y)\\"; echo 'cost: 5 $ each'; echo \\"wait=$2\\"; exec sleep $3", "sh", "${msg}", "$secs.5", "$marker"]
                """);
        var reply = core.post("/api/start", "{\"msg\": \"hi there\", \"secs\": 30, \"marker\": \"" + marker + "\"}");
        assertEquals(200, reply.status(), reply.body());
        core.awaitPhase("running");
        List<String> expected = List.of("first=hi there", "all=hi there 30.5 " + marker, "year=" + Year.now(), "cost: 5 $ each", "wait=30.5");
        assertEquals(expected, awaitStdout(expected.size()));
    }

    @Test
    void theScriptOfAVersionTwoConfigurationWritesItsMessage() throws Exception {
        core = TestCore.start(null, """
                process_management:
                  enabled: true
                  command: ["sh", "-c", "printf '%%s' \\"$1\\" > out; exec sleep %s", "x", "${msg}"]
                  working_dir: %s
                """.formatted(marker, work));
        assertEquals(200, core.post("/api/start", "{\"msg\": \"hello $USER; $(id)\"}").status());
        core.awaitPhase("running");
        Path out = work.resolve("out");
        Instant deadline = Instant.now().plusSeconds(10);
        while (!Files.exists(out) || Files.size(out) == 0) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("the script wrote nothing: " + core.status());
            }
            TestCore.sleep(20);
        }
        assertEquals("hello $USER; $(id)", Files.readString(out), "the payload reaches the script as one argument, never run by the shell");
    }

    @Test
    void aMissingKeyIsStillA400NamingIt() throws Exception {
        core = TestCore.start(null, """
                process_management:
                  enabled: true
                  command: ["sh", "-c", "echo $1", "sh", "$secs.5"]
                """);
        var reply = core.post("/api/start", "{\"secs.5\": 1}");
        assertEquals(400, reply.status());
        assertEquals("payload key 'secs' is missing; the configured command needs it", reply.json().get("detail"));
        assertEquals("idle", core.status().get("phase"), "nothing was started");
    }

    private List<String> awaitStdout(int lines) {
        Instant deadline = Instant.now().plusSeconds(10);
        while (true) {
            @SuppressWarnings("unchecked")
            var logged = (List<Map<String, Object>>) core.get("/api/logs?tail=100&stream=stdout").json().get("lines");
            List<String> text = logged.stream().map(line -> (String) line.get("line")).toList();
            if (text.size() >= lines || Instant.now().isAfter(deadline)) {
                return text;
            }
            TestCore.sleep(20);
        }
    }
}
