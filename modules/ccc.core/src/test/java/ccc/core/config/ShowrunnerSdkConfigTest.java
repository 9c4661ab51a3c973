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
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code showrunner_sdk} section: defaults, the SDK's own variables, the switch, and key-path errors. */
class ShowrunnerSdkConfigTest {

    private static final String BASE = "adapter: {class: a.B}\n";

    private static CoreConfig.ShowrunnerSdkSection sdk(String yaml, Map<String, String> environment) throws ConfigException {
        return new ConfigLoader(environment).parse(new ByteArrayInputStream((BASE + yaml).getBytes(StandardCharsets.UTF_8)), "config.yaml")
                .showrunnerSdk();
    }

    private static String refusal(String yaml, Map<String, String> environment) {
        return assertThrows(ConfigException.class, () -> sdk(yaml, environment)).getMessage();
    }

    @Test
    void offByDefaultWithTheSdksOwnDefaults() throws ConfigException {
        var sdk = sdk("", Map.of());
        assertFalse(sdk.enabled());
        assertEquals(Path.of("/config/app.json"), sdk.configPath());
        assertEquals("0.0.0.0", sdk.host());
        assertEquals(9090, sdk.port());
        assertEquals(Optional.empty(), sdk.appName());
        assertEquals(Optional.empty(), sdk.appVersion());
        assertEquals(CoreConfig.AppLifecycle.LONG_RUNNING, sdk.lifecycle());
    }

    @Test
    void everyKeyIsRead() throws ConfigException {
        var sdk = sdk("""
                showrunner_sdk:
                  enabled: true
                  config_path: /srv/app.json
                  host: 127.0.0.1
                  port: "9191"
                  app_name: traffic-generator
                  app_version: 2.1.0
                  lifecycle: ephemeral
                """, Map.of());
        assertEquals(new CoreConfig.ShowrunnerSdkSection(true, Path.of("/srv/app.json"), "127.0.0.1", 9191, Optional.of("traffic-generator"),
                Optional.of("2.1.0"), CoreConfig.AppLifecycle.EPHEMERAL), sdk);
    }

    @Test
    void theSdksVariablesAreTheDefaultsOfTheFileAndThePortWhenTheModeIsOn() throws ConfigException {
        var environment = Map.of("SHOWRUNNER_CONFIG_PATH", "/mnt/showrunner/app.json", "SHOWRUNNER_METRICS_PORT", "9300");
        var on = sdk("showrunner_sdk: {enabled: true}\n", environment);
        assertEquals(Path.of("/mnt/showrunner/app.json"), on.configPath());
        assertEquals(9300, on.port());
        var keysWin = sdk("showrunner_sdk: {enabled: true, config_path: /etc/app.json, port: 9400}\n", environment);
        assertEquals(Path.of("/etc/app.json"), keysWin.configPath());
        assertEquals(9400, keysWin.port());
        // A core managed over HTTP ignores them, even when they are wrong.
        var off = sdk("", Map.of("SHOWRUNNER_CONFIG_PATH", "/mnt/x.json", "SHOWRUNNER_METRICS_PORT", "not a port"));
        assertEquals(Path.of("/config/app.json"), off.configPath());
        assertEquals(9090, off.port());
    }

    @Test
    void oneVariableSwitchesTheModeOnOrOff() throws ConfigException {
        assertTrue(sdk("", Map.of("CCC_SHOWRUNNER_SDK", "true")).enabled());
        assertTrue(sdk("", Map.of("CCC_SHOWRUNNER_SDK", "1")).enabled());
        assertFalse(sdk("showrunner_sdk: {enabled: true}\n", Map.of("CCC_SHOWRUNNER_SDK", "false")).enabled());
        assertTrue(sdk("showrunner_sdk: {enabled: true}\n", Map.of("CCC_SHOWRUNNER_SDK", "")).enabled(), "empty: the file decides");
        assertEquals("CCC_SHOWRUNNER_SDK: expected true or false, got 'yes please'", refusal("", Map.of("CCC_SHOWRUNNER_SDK", "yes please")));
    }

    @Test
    void badValuesAreRefusedWithTheirKeyPath() {
        assertEquals("showrunner_sdk.enabled: expected true or false, got 'sometimes'",
                refusal("showrunner_sdk: {enabled: sometimes}\n", Map.of()));
        assertEquals("showrunner_sdk.port: expected a whole number from 0 to 65535, got 70000",
                refusal("showrunner_sdk: {port: 70000}\n", Map.of()));
        assertEquals("showrunner_sdk.lifecycle: expected long-running or ephemeral, got 'forever'",
                refusal("showrunner_sdk: {lifecycle: forever}\n", Map.of()));
        assertEquals("showrunner_sdk.lifecycle: expected long-running or ephemeral, got 'scheduled'; Showrunner starts a scheduled"
                + " app's container for each run, which is ephemeral to the core", refusal("showrunner_sdk: {lifecycle: scheduled}\n", Map.of()));
        assertEquals("showrunner_sdk.config_path: must not be empty", refusal("showrunner_sdk: {config_path: ''}\n", Map.of()));
        assertEquals("showrunner_sdk.app_name: expected a string, got a list", refusal("showrunner_sdk: {app_name: [a]}\n", Map.of()));
        assertEquals("showrunner_sdk: expected a mapping, got true", refusal("showrunner_sdk: true\n", Map.of()));
        assertEquals("SHOWRUNNER_METRICS_PORT: expected a port from 0 to 65535, got '90000'",
                refusal("showrunner_sdk: {enabled: true}\n", Map.of("SHOWRUNNER_METRICS_PORT", "90000")));
    }

    @Test
    void theSdksPortMustDifferFromTheControlApisWhenBothListen() throws ConfigException {
        assertEquals("showrunner_sdk.port: must differ from the control API's port 8080: both listen at once",
                refusal("showrunner_sdk: {enabled: true, port: 8080}\n", Map.of()));
        assertEquals("SHOWRUNNER_METRICS_PORT: must differ from the control API's port 9300: both listen at once",
                refusal("showrunner_sdk: {enabled: true}\n", Map.of("SHOWRUNNER_METRICS_PORT", "9300", "CCC_PORT", "9300")));
        assertEquals(0, sdk("server: {port: 0}\nshowrunner_sdk: {enabled: true, port: 0}\n", Map.of()).port(), "two free ports");
        assertEquals(8080, sdk("showrunner_sdk: {port: 8080}\n", Map.of()).port(), "off: nothing listens there");
    }

    @Test
    void anUnknownKeyInTheSectionIsWarnedAboutWithItsPath() throws ConfigException {
        var captured = new ByteArrayOutputStream();
        Log.redirect(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            sdk("showrunner_sdk: {enabled: false, metrics_port: 9090}\n", Map.of());
        } finally {
            Log.redirect(System.out);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("unknown configuration key ignored key=showrunner_sdk.metrics_port"), log);
        assertEquals(1, log.lines().count(), log);
    }
}
