package ccc.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.api.AdapterContext;
import ccc.api.Payload;
import ccc.api.Workload;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The directory a core made for its workload goes when the core shuts down, with whatever the workload left in it. */
class WorkloadDirectoryTest {

    @Test
    void theWorkloadDirectoryIsRemovedAtShutdown() throws Exception {
        var made = new AtomicReference<Path>();
        var adapter = new SleepAdapter() {
            @Override
            public Workload start(Payload payload, AdapterContext context) throws Exception {
                Path directory = context.workloadDirectory();
                Files.writeString(directory.resolve("flow-stats.properties"), "sent=1\n");
                made.set(directory);
                return super.start(payload, context);
            }
        };
        var core = TestCore.start(adapter, "");
        try {
            core.post("/api/start", "{}");
            core.awaitPhase("running");
            assertTrue(Files.isDirectory(made.get(), LinkOption.NOFOLLOW_LINKS), "made for the workload");
        } finally {
            core.close();
        }
        assertTrue(Files.notExists(made.get(), LinkOption.NOFOLLOW_LINKS), made.get() + " left behind");
    }
}
