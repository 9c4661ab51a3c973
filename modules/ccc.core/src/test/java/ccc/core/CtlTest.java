package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.ctl.Ctl;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ccc ctl} against a real core over HTTP: its output, and an exit code for each kind of failure. */
class CtlTest {

    private static final String TOKEN = "ctl-test-token-0123456789";

    private final String marker = Processes.uniqueSleepArgument();
    private TestCore core;

    @TempDir
    Path work;

    /** What one run of {@code ccc ctl} printed, and its exit code. */
    private record Run(int code, String out, String err) {
    }

    private void start(Map<String, String> environment) throws Exception {
        var config = new ccc.core.config.ConfigLoader(environment).parse(new ByteArrayInputStream((TestCore.BASE_CONFIG + """
                process_management:
                  enabled: true
                  command: [sh, -c, 'trap "echo got HUP" HUP; echo started $name; echo warning $name >&2; while :; do sleep %s & wait; done']
                  stop_timeout_seconds: 5
                """.formatted(marker)).getBytes(StandardCharsets.UTF_8)), "test config");
        core = TestCore.start(null, config);
    }

    @AfterEach
    void stop() {
        if (core != null) {
            core.close();
        }
        Processes.killAll(marker);
    }

    private Map<String, String> environment() {
        return Map.of("CCC_PORT", Integer.toString(core.core.port()), "CCC_API_TOKEN", TOKEN);
    }

    private Run ctl(Map<String, String> environment, String stdin, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = Ctl.run(args, environment, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Run ctl(String... args) {
        return ctl(environment(), "", args);
    }

    /** Runs a command that streams until the core ends it, on a thread of its own. */
    private CompletableFuture<Run> inBackground(String... args) {
        var run = new CompletableFuture<Run>();
        Thread.ofVirtual().start(() -> run.complete(ctl(args)));
        return run;
    }

    @Test
    void theCommandsDriveTheWorkloadAndPrintForPeopleOrAsJson() throws Exception {
        // No token here, so that the test itself can watch the core; the next test has one.
        start(Map.of());
        Run status = ctl("status");
        assertEquals(Ctl.OK, status.code(), status.err());
        assertTrue(status.out().lines().anyMatch(line -> line.matches("phase +idle")), status.out());
        Run json = ctl("--json", "status");
        assertEquals("idle", JSON.std.mapFrom(json.out()).get("phase"));

        var events = inBackground("events", "--types", "request,phase");
        var eventsJson = inBackground("events", "--json", "--types=exit");
        // Both must be subscribed before the start, or they would begin after its request event.
        Instant subscribed = Instant.now().plusSeconds(15);
        while (core.core.events().subscribers() < 2 && Instant.now().isBefore(subscribed)) {
            TestCore.sleep(10);
        }
        Path payload = Files.writeString(work.resolve("payload.json"), "{\"name\": \"from-a-file\"}");
        Run started = ctl("start", "--payload", payload.toString());
        assertEquals(new Run(Ctl.OK, "start initiated\n", ""), started);
        core.awaitPhase("running");
        awaitOutput("started from-a-file");
        // stdout and stderr are read by two pumps: the stderr line may land a moment later.
        awaitOutput("warning from-a-file");

        Run logs = ctl("logs", "--tail", "2");
        assertEquals(Ctl.OK, logs.code());
        assertEquals("started from-a-file\n", logs.out(), "stdout lines to stdout");
        assertEquals("warning from-a-file\n", logs.err(), "stderr lines to stderr, as docker logs writes them");
        var follow = inBackground("logs", "-f", "--tail", "0");
        var followJson = inBackground("logs", "--follow", "--json", "--tail", "1", "--stream", "stderr");
        // Both must follow before the signal, or the first would miss its line: a stream is counted once its follower is placed.
        Instant following = Instant.now().plusSeconds(15);
        while (core.core.streams().active() < 4 && Instant.now().isBefore(following)) {
            TestCore.sleep(10);
        }
        assertEquals(4, core.core.streams().active(), "two event streams and two log followers");

        assertEquals(new Run(Ctl.OK, "signal HUP delivered\n", ""), ctl("signal", "HUP"));
        awaitOutput("got HUP");
        Run restarted = ctl(environment(), "{\"name\": \"from-stdin\"}", "start", "--payload", "-");
        assertEquals(Ctl.OK, restarted.code(), restarted.err());
        core.awaitStatus(s -> "running".equals(s.get("phase")) && ((Number) s.get("restarts")).intValue() == 1, Duration.ofSeconds(15));
        awaitOutput("started from-stdin");
        Run metrics = ctl("metrics");
        assertTrue(metrics.out().lines().anyMatch(line -> line.startsWith("system.cpu_percent ")), metrics.out());
        assertEquals(new Run(Ctl.OK, "stop initiated\n", ""), ctl("stop", "--force"));
        core.awaitPhase("stopped");

        // A shutdown ends the streams, and the commands that follow them end with 0.
        core.core.shutdown();
        core = null;
        Run followed = follow.get(15, TimeUnit.SECONDS);
        assertEquals(Ctl.OK, followed.code(), followed.err());
        assertEquals(List.of("got HUP", "started from-stdin"), followed.out().lines().toList());
        assertEquals("warning from-stdin\n", followed.err());
        Run followedJson = followJson.get(15, TimeUnit.SECONDS);
        assertEquals(List.of("warning from-a-file", "warning from-stdin"), followedJson.out().lines()
                .map(line -> (String) parse(line).get("line")).toList());
        Run watched = events.get(15, TimeUnit.SECONDS);
        assertEquals(Ctl.OK, watched.code(), watched.err());
        List<String> kinds = watched.out().lines().map(line -> line.split("\\s+")[1] + " " + line.replaceAll(".*? (request|phase)=(\\S+).*", "$2")).toList();
        assertEquals(List.of("request start", "phase starting", "phase running", "request signal", "request start", "phase starting",
                "phase running", "request stop", "phase stopping", "phase stopped"), kinds, watched.out());
        Run exits = eventsJson.get(15, TimeUnit.SECONDS);
        var exitEvents = new ArrayList<Map<String, Object>>();
        exits.out().lines().forEach(line -> exitEvents.add(parse(line)));
        assertEquals(List.of("exit", "exit"), exitEvents.stream().map(event -> event.get("event")).toList());
        assertEquals(List.of(true, true), exitEvents.stream().map(event -> ((Map<?, ?>) event.get("data")).get("requested")).toList());
        assertTrue(((Number) exitEvents.getFirst().get("id")).longValue() < ((Number) exitEvents.getLast().get("id")).longValue());
    }

    private static Map<String, Object> parse(String json) {
        try {
            return JSON.std.mapFrom(json);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }

    private void awaitOutput(String line) {
        Instant deadline = Instant.now().plusSeconds(15);
        while (!core.get("/api/logs?tail=2000").body().contains("\"line\":\"" + line + "\"")) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("the workload never printed " + line);
            }
            TestCore.sleep(10);
        }
    }

    @Test
    void eachKindOfFailureHasItsExitCodeAndSaysWhy() throws Exception {
        start(Map.of("CCC_API_TOKEN", TOKEN));
        Map<String, String> wrongToken = Map.of("CCC_PORT", Integer.toString(core.core.port()), "CCC_API_TOKEN", "not-the-token");
        Run refused = ctl(wrongToken, "", "status");
        assertEquals(Ctl.REFUSED, refused.code());
        assertEquals("ccc ctl: the core answered 401: missing or invalid bearer token (give the token in CCC_API_TOKEN or with --token-file)\n",
                refused.err());
        assertEquals(Ctl.REFUSED, ctl(wrongToken, "", "logs", "-f").code(), "streams need the token too");
        Path tokenFile = Files.writeString(work.resolve("token"), TOKEN + "\n");
        assertEquals(Ctl.OK, ctl(wrongToken, "", "--token-file", tokenFile.toString(), "status").code(), "--token-file wins");

        Run notRunning = ctl("signal", "HUP");
        assertEquals(new Run(Ctl.REFUSED, "", "ccc ctl: the core answered 409: application not running\n"), notRunning);
        Run notAnObject = ctl(environment(), "[1]", "start", "--payload", "-");
        assertEquals(Ctl.REFUSED, notAnObject.code());
        assertTrue(notAnObject.err().contains("422: body must be a JSON object, got an array"), notAnObject.err());
        assertEquals(Ctl.REFUSED, ctl("events", "--types", "phase,nonsense").code());

        for (String[] usage : List.of(new String[] {}, new String[] {"frobnicate"}, new String[] {"signal"}, new String[] {"status", "extra"},
                new String[] {"logs", "--tail"}, new String[] {"--url", "ftp://host", "status"}, new String[] {"start", "--payload", "/no/such/file"},
                new String[] {"--token-file", "/no/such/token", "status"})) {
            Run run = ctl(usage);
            assertEquals(Ctl.USAGE, run.code(), String.join(" ", usage) + ": " + run.err());
        }
        assertTrue(ctl("frobnicate").err().startsWith("ccc ctl: unknown command 'frobnicate'; see ccc ctl --help"));
        assertEquals(Ctl.OK, ctl("--help").code());

        int nothingListens = ImageLessPorts.free();
        Run unreachable = ctl(Map.of("CCC_PORT", Integer.toString(nothingListens)), "", "status");
        assertEquals(Ctl.UNREACHABLE, unreachable.code());
        assertTrue(unreachable.err().startsWith("ccc ctl: cannot reach the core at http://127.0.0.1:" + nothingListens + "/"), unreachable.err());
        assertEquals(Ctl.UNREACHABLE, ctl(Map.of(), "", "--url", "http://127.0.0.1:" + nothingListens, "events").code());
    }

    @Test
    void aCccPortThatIsNoPortIsNamedAsTheVariableNotAsAnAddress() {
        // The core refuses such a CCC_PORT under its name; ctl named a URL the user never wrote, or tried port 70000.
        for (String notAPort : List.of("abc", "70000", "-1", "80 80")) {
            Run run = ctl(Map.of("CCC_PORT", notAPort), "", "status");
            assertEquals(Ctl.USAGE, run.code(), notAPort + ": " + run.err());
            assertEquals("ccc ctl: CCC_PORT: expected a port from 0 to 65535, got '" + notAPort + "'; see ccc ctl --help\n", run.err());
        }
    }

    /** A port nothing listens on. */
    private static final class ImageLessPorts {
        static int free() throws java.io.IOException {
            try (var socket = new java.net.ServerSocket(0)) {
                return socket.getLocalPort();
            }
        }
    }
}
