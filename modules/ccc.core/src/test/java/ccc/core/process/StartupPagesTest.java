package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StartupPagesTest {

    private static final String LIBJVM = "/opt/ccc/lib/server/libjvm.so";
    private static final String MODULES = "/opt/ccc/lib/modules";

    @Test
    void onlyUnwrittenMappingsOfTheNamedFilesAreChosen() throws Exception {
        String smaps = mapping("7f0000000000-7f00002e3000 r--p 00000000 fd:01 11 ", LIBJVM, 0)
                + mapping("7f00002e3000-7f000136f000 r-xp 002e3000 fd:01 11 ", LIBJVM, 0)
                // The relocated part: read-only now, but the dynamic linker wrote it.
                + mapping("7f0001680000-7f000176b000 r--p 01680000 fd:01 11 ", LIBJVM, 940)
                + mapping("7f000176b000-7f0001796000 rw-p 0176b000 fd:01 11 ", LIBJVM, 172)
                + mapping("7f0002000000-7f0002d3c000 r--s 00000000 fd:01 12 ", MODULES, 0)
                + mapping("7f0003000000-7f0003100000 r-xp 00000000 fd:01 13 ", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0)
                + mapping("7f0004000000-7f0004100000 rw-p 00000000 00:00 0 ", "", 1024)
                + mapping("7f0005000000-7f0005001000 r--p 00000000 fd:01 14 ", LIBJVM + " (deleted)", 0);

        List<StartupPages.Mapping> chosen = StartupPages.unwritten(new BufferedReader(new StringReader(smaps)), Set.of(LIBJVM, MODULES));

        assertEquals(List.of(new StartupPages.Mapping(0x7f0000000000L, 0x7f00002e3000L, LIBJVM),
                new StartupPages.Mapping(0x7f00002e3000L, 0x7f000136f000L, LIBJVM),
                new StartupPages.Mapping(0x7f0002000000L, 0x7f0002d3c000L, MODULES)), chosen);
    }

    @Test
    void thisJvmPagesOutItsOwnLibjvmAndRunsOn() throws Exception {
        Path libjvm = Path.of(System.getProperty("java.home"), "lib/server/libjvm.so").toRealPath();
        List<StartupPages.Mapping> unwritten;
        try (BufferedReader smaps = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
            unwritten = StartupPages.unwritten(smaps, Set.of(libjvm.toString()));
        }
        assertTrue(unwritten.size() >= 2, "libjvm.so's headers and code are unwritten mappings: " + unwritten);

        long advised = StartupPages.release();

        assertTrue(advised >= unwritten.stream().mapToLong(StartupPages.Mapping::length).sum(),
                "every unwritten mapping of libjvm.so was advised: " + advised + " bytes of " + unwritten);
        // The JVM's code and tables come back as it uses them: a collection, new threads, class loading.
        System.gc();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().start(() -> String.format("%s %d", "formatted", 42)));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals("java.util.concurrent.ConcurrentSkipListSet", Class.forName("java.util.concurrent.ConcurrentSkipListSet").getName());
    }

    @Test
    void releaseLaterLeavesThePagesToTheFirstAnswersThenGivesThemBack() throws Exception {
        var released = StartupPages.releaseLater();
        assertFalse(released.isDone(), "given back at once, while the first answers need the CPU");
        assertTrue(released.get(StartupPages.AFTER_LISTENING.toSeconds() + 10, TimeUnit.SECONDS) > 0, "nothing was given back");
    }

    private static String mapping(String range, String file, int anonymousKib) {
        return range + file + "\n"
                + "Size:               2956 kB\n"
                + "Rss:                2956 kB\n"
                + "Anonymous:          " + anonymousKib + " kB\n"
                + "VmFlags: rd mr mw me sd\n";
    }
}
