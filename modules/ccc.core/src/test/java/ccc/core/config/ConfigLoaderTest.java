package ccc.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.log.Log;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {

    private static CoreConfig parse(String yaml) throws ConfigException {
        return parse(yaml, Map.of());
    }

    private static CoreConfig parse(String yaml, Map<String, String> environment) throws ConfigException {
        return new ConfigLoader(environment).parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "config.yaml");
    }

    @Test
    void aConfigurationAsShowrunnerUsesItLoads() throws ConfigException {
        var config = parse("""
                adapter:
                  class: com.example.TrafficAdapter
                  run_as_user: app_user
                  target_rate: 200
                metrics:
                  network_monitoring: {enabled: true, interface: eth0}
                privileged_commands:
                  pre_start:
                    - ["sysctl", "-w", "net.core.somaxconn=8192"]
                    - ["sysctl", "-w", "net.ipv4.tcp_tw_reuse=1"]
                    - ["sysctl", "-w", "net.ipv4.ip_local_port_range=1024 65000"]
                    - ["sysctl", "-w", "net.core.rmem_max=16777216"]
                    - ["sysctl", "-w", "net.core.wmem_max=16777216"]
                    - ["sysctl", "-w", "net.ipv4.tcp_fin_timeout=15"]
                    - ["sysctl", "-w", "net.core.netdev_max_backlog=65536"]
                    - ["sysctl", "-w", "net.ipv4.tcp_max_syn_backlog=8192"]
                  post_stop: []
                process_management:
                  enabled: false
                traffic_control:
                  enabled: false
                  interface: eth0
                  bandwidth_mbps_key: bandwidth_limit_mbps
                  default_bandwidth_mbps: 100
                  latency_ms_key: latency_ms
                  default_latency_ms: 0
                """);
        assertEquals(Optional.of("com.example.TrafficAdapter"), config.adapter().className());
        assertEquals(Optional.empty(), config.adapter().primaryPayloadKey());
        assertEquals(Optional.of("app_user"), config.adapter().runAsUser());
        assertEquals(200, config.adapter().values().get("target_rate"));
        assertEquals(8, config.privilegedCommands().preStart().size());
        assertEquals(List.of("sysctl", "-w", "net.ipv4.ip_local_port_range=1024 65000"), config.privilegedCommands().preStart().get(2));
        assertTrue(config.privilegedCommands().failOnError());
        assertEquals(Optional.of("eth0"), config.metrics().networkInterface());
        assertEquals("0.0.0.0", config.server().host());
        assertEquals(8080, config.server().port());
        assertEquals(1 << 20, config.server().maxBodyBytes());
        assertEquals(Duration.ofSeconds(25), config.lifecycle().shutdownGrace());
    }

    @Test
    void theSeedsMinimalConfigurationLoads() throws ConfigException {
        var config = parse("""
                adapter:
                  class: my_adapter.MyAdapter      # dotted-path import
                  primary_payload_key: flowfile    # key that must exist in /api/start body
                  run_as_user: null
                """);
        assertEquals(Optional.of("flowfile"), config.adapter().primaryPayloadKey());
        assertEquals(Optional.empty(), config.adapter().runAsUser());
        assertTrue(config.metrics().networkMonitoring(), "v1.1 always reported the network");
    }

    @Test
    void environmentOverridesHostPortAndAdaptersDirectory() throws ConfigException {
        var config = parse("adapter: {class: a.B}\nserver: {port: 9000}\nadapters_dir: /x\n",
                Map.of("CCC_HOST", "127.0.0.1", "CCC_PORT", "9100", "CCC_ADAPTERS_DIR", "/opt/adapters"));
        assertEquals("127.0.0.1", config.server().host());
        assertEquals(9100, config.server().port());
        assertEquals(Optional.of(Path.of("/opt/adapters")), config.adaptersDir());
    }

    @Test
    void trafficControlReadsBandwidthAsThePythonCoreDid() throws ConfigException {
        var absent = parse("adapter: {class: a.B}\ntraffic_control: {enabled: true}\n").trafficControl();
        assertEquals(0, absent.defaultBandwidthMbps(), "no default_bandwidth_mbps: no limit, as v2.0");
        var zero = parse("adapter: {class: a.B}\ntraffic_control: {enabled: true, default_bandwidth_mbps: 0}\n").trafficControl();
        assertEquals(0, zero.defaultBandwidthMbps(), "0: no limit, as v2.0");
        var quoted = parse("""
                adapter: {class: a.B}
                traffic_control:
                  enabled: true
                  default_bandwidth_mbps: "100"
                  default_latency_ms: " 20.5 "
                  default_jitter_ms: '2'
                  default_loss_percent: "0.5"
                """).trafficControl();
        assertEquals(100, quoted.defaultBandwidthMbps());
        assertEquals(20.5, quoted.defaultLatencyMs());
        assertEquals(2, quoted.defaultJitterMs());
        assertEquals(0.5, quoted.defaultLossPercent());
        var lowest = parse("adapter: {class: a.B}\ntraffic_control: {default_bandwidth_mbps: 0.1}\n").trafficControl();
        assertEquals(CoreConfig.TrafficControlSection.MIN_BANDWIDTH_MBPS, lowest.defaultBandwidthMbps());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "server: {port: 8080}|adapter.class: required: name the adapter's provider class, or set process_management.enabled: true",
            "adapter: {class: a.B}\\nserver: {port: 70000}|server.port: expected a whole number from 0 to 65535, got 70000",
            "adapter: {class: a.B}\\nserver: {port: eighty}|server.port: expected a whole number from 0 to 65535, got 'eighty'",
            "adapter: [a]|adapter: expected a mapping, got a list",
            "adapter: {class: 'not a class'}|adapter.class: expected a Java class name, got 'not a class'",
            "adapter: {class: a.B}\\ntraffic_control: {default_bandwidth_mbps: -5}|traffic_control.default_bandwidth_mbps: expected 0 (no limit) or a number from 0.1 to 100000, got -5",
            "adapter: {class: a.B}\\ntraffic_control: {default_bandwidth_mbps: 0.001}|traffic_control.default_bandwidth_mbps: expected 0 (no limit) or a number from 0.1 to 100000, got 0.001",
            "adapter: {class: a.B}\\ntraffic_control: {default_bandwidth_mbps: 'fast'}|traffic_control.default_bandwidth_mbps: expected 0 (no limit) or a number from 0.1 to 100000, got 'fast'",
            "adapter: {class: a.B}\\ntraffic_control: {default_latency_ms: '-1'}|traffic_control.default_latency_ms: expected a number from 0.0 to 60000.0, got '-1'",
            "adapter: {class: a.B}\\nprivileged_commands: {pre_start: [[]]}|privileged_commands.pre_start[0]: a command needs at least a program name",
            "adapter: {class: a.B}\\nprivileged_commands: {pre_start: [[sysctl, {a: 1}]]}|privileged_commands.pre_start[0][1]: expected a string, got a mapping",
            "adapter: {class: a.B}\\nprivileged_commands: {on_error: ignore}|privileged_commands.on_error: expected fail or warn, got 'ignore'",
            "adapter: {class: a.B}\\nmetrics: {network_monitoring: {enabled: maybe}}|metrics.network_monitoring.enabled: expected true or false, got 'maybe'",
            "adapter: {class: a.B}\\nlog: {format: xml}|log.format: expected text or json, got 'xml'",
            "process_management: {enabled: true}|process_management.command: required when process_management.enabled is true",
            "adapter: {class: a.B}\\nserver: {port: '8080.5'}|server.port: expected a whole number from 0 to 65535, got '8080.5'",
            "adapter: {class: a.B}\\nserver: {port: '70000'}|server.port: expected a whole number from 0 to 65535, got '70000'",
            "adapter: {class: a.B}\\ntraffic_control: {default_bandwidth_mbps: 'fast'}|traffic_control.default_bandwidth_mbps: expected 0 (no limit) or a number from 0.1 to 100000, got 'fast'",
            "adapter: {class: a.B}\\ntraffic_control: {default_bandwidth_mbps: ''}|traffic_control.default_bandwidth_mbps: expected 0 (no limit) or a number from 0.1 to 100000, got ''",
            "process_management: {enabled: true, command: [x], env: {CCC_API_TOKEN: x}}|process_management.env.CCC_API_TOKEN: 'CCC_API_TOKEN': names starting with CCC_ are the core's own and never reach the workload",
            "adapter: {class: a.B}\\nlifecycle: {stop_timeout_seconds: 'NaN'}|lifecycle.stop_timeout_seconds: expected a number from 0.001 to 86400.0, got 'NaN'",
    })
    void invalidConfigurationNamesTheKeyPath(String yaml, String message) {
        var error = assertThrows(ConfigException.class, () -> parse(yaml.replace("\\n", "\n")));
        assertEquals(message, error.getMessage());
        assertFalse(error.getMessage().contains("\n"), "one line");
    }

    @Test
    void brokenYamlAndEmptyFilesAreRefusedWithTheirPlace() {
        var broken = assertThrows(ConfigException.class, () -> parse("adapter:\n  class: [unclosed\n"));
        assertTrue(broken.getMessage().startsWith("config.yaml: not valid YAML at line"), broken.getMessage());
        var duplicate = assertThrows(ConfigException.class, () -> parse("adapter: {class: a.B}\nadapter: {class: c.D}\n"));
        assertTrue(duplicate.getMessage().contains("not valid YAML"), duplicate.getMessage());
        var empty = assertThrows(ConfigException.class, () -> parse(""));
        assertTrue(empty.getMessage().startsWith("config.yaml: empty"));
        var scalar = assertThrows(ConfigException.class, () -> parse("just text"));
        assertEquals("config.yaml: expected a mapping at the top level, got 'just text'", scalar.getMessage());
        var badPort = assertThrows(ConfigException.class, () -> parse("adapter: {class: a.B}", Map.of("CCC_PORT", "http")));
        assertEquals("CCC_PORT: expected a port from 0 to 65535, got 'http'", badPort.getMessage());
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) throws Exception {
        var missing = assertThrows(ConfigException.class, () -> new ConfigLoader(Map.of()).load(dir.resolve("none.yaml")));
        assertEquals(dir.resolve("none.yaml") + ": no such file", missing.getMessage());
        Path file = Files.writeString(dir.resolve("config.yaml"), "adapter: {class: a.B}\n");
        assertEquals(file.toString(), new ConfigLoader(Map.of()).load(file).source());
    }

    @Test
    void quotedNumbersLoadAsTheyDidInVersionTwo() throws ConfigException {
        var config = parse("""
                adapter: {class: a.B}
                server: {port: "8080", max_body_bytes: " 2048 "}
                lifecycle: {stop_timeout_seconds: "15", shutdown_grace_seconds: "2.5"}
                traffic_control: {enabled: true, default_bandwidth_mbps: "100", default_latency_ms: "0", default_loss_percent: "1e-1"}
                process_management: {restart: {backoff_initial_ms: "+500", max_retries: "-1"}}
                """);
        assertEquals(8080, config.server().port());
        assertEquals(2048, config.server().maxBodyBytes());
        assertEquals(Duration.ofSeconds(15), config.lifecycle().stopTimeout());
        assertEquals(Duration.ofMillis(2500), config.lifecycle().shutdownGrace());
        assertEquals(100, config.trafficControl().defaultBandwidthMbps());
        assertEquals(0, config.trafficControl().defaultLatencyMs());
        assertEquals(0.1, config.trafficControl().defaultLossPercent());
        assertEquals(Duration.ofMillis(500), config.processManagement().restart().backoffInitial());
        assertEquals(-1, config.processManagement().restart().maxRetries());
    }

    @Test
    void anEmptyPrimaryPayloadKeyOrUserMeansNone() throws ConfigException {
        var config = parse("adapter: {class: a.B, primary_payload_key: '', run_as_user: ''}\n");
        assertEquals(Optional.empty(), config.adapter().primaryPayloadKey());
        assertEquals(Optional.empty(), config.adapter().runAsUser());
        var blank = assertThrows(ConfigException.class, () -> parse("adapter: {class: a.B, primary_payload_key: '  '}\n"));
        assertEquals("adapter.primary_payload_key: must not be empty", blank.getMessage());
    }

    @Test
    void everyUnknownKeyAtEveryLevelIsWarnedAboutByItsPath() throws ConfigException {
        String log = warnings("""
                adapter: {class: a.B, target_rate: 200, nested: {anything: 1}}
                server: {port: 8080, prot: 9090}
                metrics:
                  network_monitoring: {enabled: true, interfce: eth1}
                  disk_monitoring: {enabled: true}
                process_management:
                  enabled: false
                  command_factory: my_adapter.factory
                  env: {ANY_NAME: x}
                  restart: {policy: never, retries: 3}
                traffic_control: {enabled: false, burst_kb: 32}
                privileged_commands: {pre_start: [[sysctl, -a]], pre_stop: []}
                lifecycle: {start_timeout_seconds: 30}
                log: {format: text, colour: true}
                dashboard: true
                """, Map.of());
        List<String> keys = log.lines().map(line -> line.replaceAll(".* key=(\\S+).*", "$1")).sorted().toList();
        assertEquals(List.of("dashboard", "log.colour", "metrics.disk_monitoring", "metrics.network_monitoring.interfce",
                "privileged_commands.pre_stop", "process_management.command_factory", "process_management.restart.retries",
                "server.prot", "traffic_control.burst_kb"), keys, log);
        assertTrue(log.lines().allMatch(line -> line.contains(" WARNING config: unknown configuration key ignored key=")), log);
        String factory = log.lines().filter(line -> line.contains("key=process_management.command_factory")).findFirst().orElseThrow();
        assertTrue(factory.contains("why=\"a Python hook, which this core cannot call; code that builds the command is an adapter here"), factory);
    }

    @Test
    void keysAnEnvironmentOverrideSkipsAreStillKnown() throws ConfigException {
        assertEquals("", warnings("adapter: {class: a.B}\nserver: {auth_token: abc, auth_token_file: /nonexistent}\nadapters_dir: /x\n",
                Map.of("CCC_API_TOKEN", "from-env", "CCC_ADAPTERS_DIR", "/y")));
        assertEquals("", warnings("adapter: {class: a.B}\nserver: {auth_token: abc}\nadapters_dir: /x\n", Map.of()));
    }

    @Test
    void aCommandFactoryAloneSaysWhatItIsHere() {
        var error = assertThrows(ConfigException.class, () -> parse("process_management: {enabled: true, command_factory: my.factory}\n"));
        assertEquals("process_management.command: required when process_management.enabled is true; command_factory is a Python hook,"
                + " which this core cannot call; code that builds the command is an adapter here (an Adapter whose start launches it;"
                + " see the README's adapter guide)", error.getMessage());
    }

    /** The warnings logged while loading the file {@code config}. */
    private static String loadWarnings(Path config) throws ConfigException {
        var captured = new ByteArrayOutputStream();
        Log.redirect(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            new ConfigLoader(Map.of()).load(config);
        } finally {
            Log.redirect(System.out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aTokenInAFileOthersMayReadIsWarnedAbout(@TempDir Path dir) throws Exception {
        String warning = "the API token is in a file its group or others may read";
        Path inline = Files.writeString(dir.resolve("config.yaml"), "adapter: {class: a.B}\nserver: {auth_token: inline-Token-123}\n");
        Files.setPosixFilePermissions(inline, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        String logged = loadWarnings(inline);
        assertTrue(logged.contains(warning) && logged.contains("key=server.auth_token file=" + inline + " mode=rw-r--r--"), logged);
        assertFalse(logged.contains("inline-Token-123"), logged);
        Files.setPosixFilePermissions(inline, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertFalse(loadWarnings(inline).contains(warning));

        Path token = Files.writeString(dir.resolve("token"), "file-Token-456\n");
        Path config = Files.writeString(dir.resolve("with-file.yaml"), "adapter: {class: a.B}\nserver: {auth_token_file: " + token + "}\n");
        Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        logged = loadWarnings(config);
        assertTrue(logged.contains(warning) && logged.contains("key=server.auth_token_file file=" + token + " mode=rw-r-----"), logged);
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("r--------"));
        assertFalse(loadWarnings(config).contains(warning), "a world-readable file without a token is no concern");
    }

    /** The warnings logged while loading {@code yaml}. */
    private static String warnings(String yaml, Map<String, String> environment) throws ConfigException {
        var captured = new ByteArrayOutputStream();
        Log.redirect(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            parse(yaml, environment);
        } finally {
            Log.redirect(System.out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
