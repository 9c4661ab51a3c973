package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The core as PID 1 of a fresh PID namespace, as in a container with no init: orphans must not become zombies. */
class ReapingIT {

    @TempDir
    Path work;

    @Test
    void asPidOneTheCoreReapsTwoHundredOrphans() throws Exception {
        Requirements.require(ProcTable.isRoot(), "a PID namespace needs root (run the tests as root to cover it)");
        Requirements.require(Files.isExecutable(Path.of("/usr/bin/unshare")), "unshare (util-linux) is not installed");
        Files.writeString(work.resolve("config.yaml"), """
                process_management:
                  enabled: true
                  command: [sh, -c, 'for i in $$(seq 200); do (sleep 8 &) ; done; exec sleep 4321.123']
                """);
        try (var core = ImageProcess.launchUnder(List.of("unshare", "--pid", "--fork", "--mount-proc"), work, Map.of())) {
            core.awaitHealthy(Instant.now(), Duration.ofSeconds(30));
            ProcessHandle jvm = core.process.children().findFirst().orElseThrow();
            assertTrue(core.output().contains("listening"), core.output());
            assertEquals(200, core.request("POST", "/api/start", "{}").status());

            // The orphans live 8 s each, so that a busy machine still starts most of them before the first ends.
            long adopted = 0;
            Instant deadline = Instant.now().plusSeconds(8);
            while (adopted < 150 && Instant.now().isBefore(deadline)) {
                adopted = ProcTable.childrenButTheWaitingHelpers(jvm).size() - 1;
                ImageProcess.sleep(20);
            }
            assertTrue(adopted >= 150, "the orphans were re-parented to the core as PID 1: " + adopted);

            // Once they have all ended, none is left a zombie: a core that did not reap them would keep them for ever.
            deadline = Instant.now().plusSeconds(30);
            while (ProcTable.childrenButTheWaitingHelpers(jvm).size() > 1 && Instant.now().isBefore(deadline)) {
                ImageProcess.sleep(100);
            }
            long zombies = jvm.children().filter(child -> ProcTable.isZombie(child.pid())).count();
            assertEquals(0, zombies, "no zombie is left among the core's children");
            assertEquals(1, ProcTable.childrenButTheWaitingHelpers(jvm).size(),
                    "only the workload (and the helper waiting for the next) is left: " + jvm.children().toList());

            new ProcessBuilder("kill", "-TERM", Long.toString(jvm.pid())).start().waitFor();
            assertTrue(core.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, core.process.exitValue(), core.output());
        }
    }
}
