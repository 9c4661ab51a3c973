package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.config.ConfigLoader;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** The OpenAPI document, readiness, and the Kubernetes manifests agree with what the core serves. */
class DeploymentTest {

    private static final Path REPOSITORY = Path.of(System.getProperty("ccc.repository", "../..")).toAbsolutePath().normalize();

    private SleepAdapter adapter;
    private TestCore core;

    @BeforeEach
    void startCore() throws Exception {
        adapter = new SleepAdapter();
        core = TestCore.start(adapter, "");
    }

    @AfterEach
    void stopCore() {
        core.close();
        Processes.killAll(adapter.marker);
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyRouteIsDocumentedAndEveryDocumentedRouteIsAnswered() throws Exception {
        var reply = core.get("/openapi.json");
        assertEquals(200, reply.status());
        Map<String, Object> document = JSON.std.mapFrom(reply.body());
        assertEquals("3.1.0", document.get("openapi"));
        var documented = new HashSet<String>();
        ((Map<String, Map<String, Object>>) document.get("paths")).forEach((path, operations) ->
                operations.keySet().forEach(method -> documented.add(method.toUpperCase() + " " + path)));
        var served = new HashSet<String>();
        core.core.router().routes().forEach((path, methods) -> methods.forEach(method -> served.add(method + " " + path)));
        assertEquals(served, documented);
        for (String route : documented) {
            String[] parts = route.split(" ");
            var operation = (Map<String, Object>) ((Map<String, Object>) document.get("paths")).get(parts[1]);
            var ok = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) operation.get(parts[0].toLowerCase())).get("responses")).get("200");
            if (((Map<String, Object>) ok.get("content")).keySet().equals(Set.of("text/event-stream"))) {
                // A stream goes on while the client stays: its status is all there is to read.
                try (var stream = EventStreamClient.open(core.core.port(), parts[1])) {
                    assertEquals(200, stream.status(), route);
                }
                continue;
            }
            var answer = core.send(parts[0], parts[1], parts[0].equals("POST") ? "{}" : null, parts[0].equals("POST") ? "application/json" : null);
            assertNotEquals(404, answer.status(), route);
            assertNotEquals(405, answer.status(), route);
        }
    }

    @Test
    void readinessIs200OnceListeningAnd503WhileShuttingDown() throws Exception {
        assertEquals(Map.of("status", "ready"), core.get("/api/ready").json());
        core.post("/api/start", "{}");
        core.awaitPhase("running");
        // A workload that ignores SIGTERM keeps the stop sequence, and so the shutdown, busy for a while.
        adapter.hangInStop = true;
        Thread shutdown = Thread.ofPlatform().start(core.core::shutdown);
        var notReady = core.get("/api/ready");
        for (int i = 0; i < 100 && notReady.status() != 503; i++) {
            Thread.sleep(10);
            notReady = core.get("/api/ready");
        }
        assertEquals(503, notReady.status());
        assertEquals(Map.of("detail", "not ready"), notReady.json());
        assertEquals(200, core.get("/api/health").status(), "still alive while it shuts down");
        shutdown.join();
    }

    @Test
    void theCtlCommandsTheDocumentationShowsAreCommandsCtlHasAndUseItsOptions() throws Exception {
        var commands = new java.util.TreeSet<String>();
        var documented = java.util.regex.Pattern.compile("ccc ctl ((?:--[a-z-]+ (?:[^ ]+ )?)*)([a-z]+)([^`\n]*)");
        for (String document : List.of("README.md", "deploy/kubernetes/README.md")) {
            var matcher = documented.matcher(Files.readString(REPOSITORY.resolve(document)));
            while (matcher.find()) {
                commands.add(matcher.group(2));
                for (String option : (matcher.group(1) + " " + matcher.group(3)).split("[ |\\[\\]]+")) {
                    if (option.startsWith("-") && !option.equals("-")) {
                        assertTrue(ccc.core.ctl.Ctl.USAGE_TEXT.contains(option.split("=")[0]), document + ": ccc ctl has no option " + option);
                    }
                }
            }
        }
        assertTrue(commands.containsAll(List.of("status", "start", "stop", "logs", "events")), commands.toString());
        for (String command : commands) {
            assertTrue(ccc.core.ctl.Ctl.USAGE_TEXT.contains("\n  " + command + " "), "ccc ctl has no command " + command);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theManifestsProbeServedPathsAndTheirGraceExceedsTheCores() throws Exception {
        Map<String, Object> deployment;
        Map<String, Object> service;
        try (InputStream in = Files.newInputStream(REPOSITORY.resolve("deploy/kubernetes/deployment.yaml"))) {
            deployment = new Yaml().load(in);
        }
        try (InputStream in = Files.newInputStream(REPOSITORY.resolve("deploy/kubernetes/service.yaml"))) {
            service = new Yaml().load(in);
        }
        var template = (Map<String, Object>) ((Map<String, Object>) deployment.get("spec")).get("template");
        var pod = (Map<String, Object>) template.get("spec");
        var container = ((List<Map<String, Object>>) pod.get("containers")).getFirst();
        var exampleConfig = new ConfigLoader(Map.of()).load(REPOSITORY.resolve("modules/ccc.adapter.example/config.yaml"));
        int port = exampleConfig.server().port();

        Set<String> getRoutes = new HashSet<>();
        core.core.router().routes().forEach((path, methods) -> {
            if (methods.contains("GET")) {
                getRoutes.add(path);
            }
        });
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            var httpGet = (Map<String, Object>) ((Map<String, Object>) container.get(probe)).get("httpGet");
            String path = (String) httpGet.get("path");
            assertTrue(getRoutes.contains(path), probe + " probes " + path + ", which the core does not serve");
            assertEquals(200, core.get(path).status(), probe);
            assertEquals(port, httpGet.get("port"), probe);
        }
        assertEquals("/api/health", ((Map<String, Map<String, Object>>) container.get("livenessProbe")).get("httpGet").get("path"));
        assertEquals("/api/ready", ((Map<String, Map<String, Object>>) container.get("readinessProbe")).get("httpGet").get("path"));

        int grace = (Integer) pod.get("terminationGracePeriodSeconds");
        assertTrue(grace > exampleConfig.lifecycle().shutdownGrace().toSeconds(),
                "the pod's grace " + grace + " s must exceed the core's " + exampleConfig.lifecycle().shutdownGrace().toSeconds() + " s");

        var resources = (Map<String, Map<String, Object>>) container.get("resources");
        assertTrue(resources.get("limits").keySet().containsAll(List.of("cpu", "memory")));
        assertTrue(resources.get("requests").keySet().containsAll(List.of("cpu", "memory")));

        var annotations = (Map<String, String>) ((Map<String, Object>) template.get("metadata")).get("annotations");
        assertEquals("true", annotations.get("prometheus.io/scrape"));
        assertTrue(getRoutes.contains(annotations.get("prometheus.io/path")));
        assertEquals(Integer.toString(port), annotations.get("prometheus.io/port"));

        assertNull(container.get("command"), "the image's entrypoint, the launcher that execs the JVM, starts the core");
        var containerPort = ((List<Map<String, Object>>) container.get("ports")).getFirst().get("containerPort");
        assertEquals(port, containerPort);
        var servicePort = ((List<Map<String, Object>>) ((Map<String, Object>) service.get("spec")).get("ports")).getFirst();
        assertEquals(port, servicePort.get("targetPort"));
    }
}
