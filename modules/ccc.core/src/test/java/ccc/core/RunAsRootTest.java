package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.core.process.PrivilegeDrop;
import ccc.core.process.UserDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run_as_user} naming an account whose uid is 0 ({@code root}, or an alias such as
 * {@code toor}) looks like a drop and is none: the workload keeps uid 0 without capabilities, and
 * uid 0 owns the core's secrets. Such a workload reads a mode-0600 token file (owner's bit), may
 * signal the core (same uid), and may load code into the core's JVM through its attach socket
 * (same euid), where it runs with every capability. The core refuses to start it, and
 * {@code --check-config} warns of it, as it warns of a user the machine lacks.
 */
class RunAsRootTest {

    private static final String PASSWD = "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n";

    @TempDir
    Path dir;

    @Test
    void checkConfigWarnsOfARunAsUserWhoseUidIsZero() throws Exception {
        var users = users();
        for (String name : new String[] {"root", "toor"}) {
            String line = Main.describe(TestCore.config("  run_as_user: " + name + "\n"), "test.Adapter", Optional.empty(),
                    Optional.empty(), users).lines().filter(l -> l.startsWith("run_as_user: ")).findFirst().orElseThrow();
            assertEquals("run_as_user: " + name + " (warning: a start as root is refused here: " + refusal(name) + ")", line,
                    "no warning for a workload user with uid 0");
        }
    }

    @Test
    void aStartAsAUserWhoseUidIsZeroIsRefusedBeforeAnythingRuns() throws Exception {
        // A core that runs as root, with this passwd file; the real helper when there is one, so that a start let through runs.
        var privileges = new PrivilegeDrop(users(), PrivilegeDrop.system().helper(), true);
        Path ran = dir.resolve("the-workload-ran");
        assertRefused(null, "process_management:\n  enabled: true\n  command: [sh, -c, 'touch \"" + ran + "\"']\n", privileges, ran);
        var adapter = new SleepAdapter();
        adapter.command = List.of("sh", "-c", "touch \"" + ran + "\"");
        assertRefused(adapter, "", privileges, ran);
        assertEquals(0, adapter.starts.get(), "the adapter was asked to start a workload as uid 0");
    }

    @Test
    void noLaunchSwitchesToAUserWhoseUidIsZeroWhenever() throws Exception {
        // What an adapter launches or wraps outside a start (in an update, say) meets the same refusal.
        var privileges = new PrivilegeDrop(users(), PrivilegeDrop.system().helper(), true);
        var wrapped = assertThrows(IllegalStateException.class, () -> privileges.wrap(List.of("true"), Optional.of("toor")));
        assertEquals(refusal("toor"), wrapped.getMessage());
        var launched = assertThrows(IllegalStateException.class,
                () -> privileges.launchCommand(List.of("true"), Optional.of("root"), Optional.empty()));
        assertEquals(refusal("root"), launched.getMessage());
        assertThrows(IllegalStateException.class, () -> privileges.workloadAccount(Optional.of("toor")));
    }

    private static void assertRefused(SleepAdapter adapter, String extraYaml, PrivilegeDrop privileges, Path ran) throws Exception {
        try (var core = TestCore.start(adapter, "  run_as_user: toor\n" + extraYaml, privileges)) {
            core.post("/api/start", "{}");
            var status = core.awaitPhase("failed");
            assertEquals(refusal("toor"), status.get("last_error"));
            assertFalse(Files.exists(ran), "the workload ran as uid 0");
        }
    }

    private UserDirectory users() throws Exception {
        return new UserDirectory(Files.writeString(dir.resolve("passwd"), PASSWD), Files.writeString(dir.resolve("group"), ""));
    }

    private static String refusal(String user) {
        return "run_as_user '" + user + "' has uid 0, the core's own: a workload run as it could load code into the core and read its"
                + " secrets; leave run_as_user unset to run the workload as the core's user, or name an unprivileged user";
    }
}
