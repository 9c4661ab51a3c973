package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.core.config.ConfigException;
import ccc.core.process.UserAccount;
import ccc.core.process.WorkloadEnvironment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The workload's environment is built from a documented base, never inherited; the core's CCC_* variables never reach it. */
class WorkloadEnvironmentTest {

    private static final Map<String, String> CORE = Map.of(
            "CCC_API_TOKEN", "the-core's-token", "CCC_X", "core only", "PATH", "/opt/bin:/usr/bin",
            "HOME", "/root", "USER", "root", "LANG", "C.UTF-8", "LC_TIME", "C", "TZ", "UTC",
            "SITE_PROXY", "http://proxy:3128", "JAVA_TOOL_OPTIONS", "-Xmx1g");
    private static final UserAccount APP = new UserAccount("app", 1000, 1000, "/home/app", List.of(1000L));

    @Test
    void aDroppedWorkloadGetsTheBaseOfItsUserThePassedOnVariablesAndItsOwn() {
        var environment = new WorkloadEnvironment(CORE, List.of("SITE_PROXY", "UNSET_IN_CORE"))
                .build(Optional.of(APP), Map.of("TARGET", "x", "HOME", "/srv/app"));
        var expected = new LinkedHashMap<String, String>();
        expected.put("PATH", "/opt/bin:/usr/bin");
        expected.put("HOME", "/srv/app");
        expected.put("USER", "app");
        expected.put("LOGNAME", "app");
        expected.put("LANG", "C.UTF-8");
        expected.put("TZ", "UTC");
        expected.put("LC_TIME", "C");
        expected.put("SITE_PROXY", "http://proxy:3128");
        expected.put("TARGET", "x");
        assertEquals(expected, environment);
    }

    @Test
    void aCoreWhoseUserHasNoAccountPassesItsOwnHomeAndUserAndPathFallsBackToTheDefault() {
        var environment = new WorkloadEnvironment(Map.of("HOME", "/home/me", "USER", "me", "CCC_API_TOKEN", "t"), List.of())
                .build(Optional.empty(), Map.of());
        assertEquals(Map.of("PATH", WorkloadEnvironment.DEFAULT_PATH, "HOME", "/home/me", "USER", "me"), environment);
    }

    @Test
    void noCoreVariableIsEverPassedOn() {
        var refused = assertThrows(IllegalArgumentException.class,
                () -> new WorkloadEnvironment(CORE, List.of()).build(Optional.of(APP), Map.of("CCC_API_TOKEN", "mine")));
        assertEquals("environment variable 'CCC_API_TOKEN': names starting with CCC_ are the core's own and never reach the workload",
                refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new WorkloadEnvironment(CORE, List.of("CCC_X")));
    }

    @Test
    void envPassthroughIsReadFromTheAdapterSectionAndRefusesTheCoresVariables() throws Exception {
        var config = TestCore.config("  env_passthrough: [SITE_PROXY, NO_PROXY]\n");
        assertEquals(List.of("SITE_PROXY", "NO_PROXY"), config.adapter().envPassthrough());
        assertEquals(List.of(), TestCore.config("").adapter().envPassthrough());

        var core = assertThrows(ConfigException.class, () -> TestCore.config("  env_passthrough: [PATH, CCC_API_TOKEN]\n"));
        assertEquals("adapter.env_passthrough[1]: 'CCC_API_TOKEN': names starting with CCC_ are the core's own and never reach the workload",
                core.getMessage());
        var invalid = assertThrows(ConfigException.class, () -> TestCore.config("  env_passthrough: ['A=B']\n"));
        assertEquals("adapter.env_passthrough[0]: 'A=B' is not a valid environment variable name", invalid.getMessage());
    }
}
