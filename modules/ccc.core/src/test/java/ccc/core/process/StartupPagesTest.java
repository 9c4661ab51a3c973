package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    void thePagesAreGivenBackOnceTheCoreIsQuietNotWhileItAnswers() throws Exception {
        var lastAnswered = new AtomicLong(System.nanoTime());
        var released = StartupPages.releaseWhenQuiet(lastAnswered::get);
        assertFalse(released.isDone(), "given back at once, while the first answers need the CPU");
        // A request answered every 50 ms, well past AFTER_LISTENING: never QUIET_FOR apart, unless this thread is held up
        // for most of a second, after which nothing more is asserted.
        long busyUntil = System.nanoTime() + StartupPages.AFTER_LISTENING.plusMillis(1500).toNanos();
        boolean heldUp = false;
        while (System.nanoTime() < busyUntil && !heldUp) {
            long now = System.nanoTime();
            heldUp = now - lastAnswered.get() > StartupPages.QUIET_FOR.toNanos() / 2;
            lastAnswered.set(now);
            if (!heldUp) {
                assertFalse(released.isDone(), "given back while requests were being answered");
            }
            Thread.sleep(50);
        }
        assertTrue(released.get(StartupPages.QUIET_FOR.toSeconds() + 10, TimeUnit.SECONDS) > 0, "nothing was given back once quiet");
    }

    @Test
    void aCoreThatIsNeverQuietHasThePagesGivenBackAtTheLatest() throws Exception {
        var released = StartupPages.releaseWhenQuiet(System::nanoTime, Duration.ofSeconds(2));
        assertTrue(released.get(20, TimeUnit.SECONDS) > 0, "nothing was given back");
    }

    @Test
    void everyMappingOfTheCacheIsFoundWithItsPageSize() throws Exception {
        String cache = "/opt/ccc/lib/ccc.aot";
        String smaps = mapping("8d001000-8e334000 rw-p 00001000 fd:01 15 ", cache, 15432)
                + mapping("7f0000000000-7f00002e3000 r--p 00000000 fd:01 11 ", LIBJVM, 0)
                + mapping("7f486c59a000-7f486c600000 rw-p 01334000 fd:01 15 ", cache, 0);

        var found = StartupPages.mappingsOf(new BufferedReader(new StringReader(smaps)), Set.of(cache));

        assertEquals(List.of(new StartupPages.PagedMapping(new StartupPages.Mapping(0x8d001000L, 0x8e334000L, cache), 4096),
                new StartupPages.PagedMapping(new StartupPages.Mapping(0x7f486c59a000L, 0x7f486c600000L, cache), 4096)), found);
    }

    @Test
    void onlyResidentPagesThatAreStillTheFilesAreChosen(@TempDir Path dir) throws Exception {
        long present = 1L << 63;
        long ofFile = 1L << 61;
        // Pages 0 and 1 the file's, 2 a private copy, 3 not resident, 4 the file's, 5 the file's.
        long[] entries = {present | ofFile | 7, present | ofFile, present | 9, 0, present | ofFile, present | ofFile};
        var buffer = java.nio.ByteBuffer.allocate(8 * 16 + 8 * entries.length).order(java.nio.ByteOrder.nativeOrder());
        buffer.position(8 * 16);
        for (long entry : entries) {
            buffer.putLong(entry);
        }
        Path pagemap = dir.resolve("pagemap");
        Files.write(pagemap, buffer.array());
        var mapping = new StartupPages.Mapping(16 * 4096L, 22 * 4096L, "/opt/ccc/lib/ccc.aot");

        List<StartupPages.Mapping> runs;
        try (var channel = java.nio.channels.FileChannel.open(pagemap)) {
            runs = StartupPages.filePages(channel, new StartupPages.PagedMapping(mapping, 4096));
        }

        assertEquals(List.of(new StartupPages.Mapping(16 * 4096L, 18 * 4096L, mapping.file()),
                new StartupPages.Mapping(20 * 4096L, 22 * 4096L, mapping.file())), runs);
    }

    @Test
    void aPrivateMappingGivesBackTheFilesPagesAndKeepsTheOneItWrote(@TempDir Path dir) throws Exception {
        int pageSize = 4096;
        Path file = dir.resolve("cache");
        byte[] content = new byte[16 * pageSize];
        java.util.Arrays.fill(content, (byte) 7);
        Files.write(file, content);
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE); var arena = java.lang.foreign.Arena.ofConfined()) {
            // As the JVM maps its AOT cache: private and writable, then written in places.
            var segment = channel.map(java.nio.channels.FileChannel.MapMode.PRIVATE, 0, content.length, arena);
            long sum = 0;
            for (int page = 0; page < 16; page++) {
                sum += segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (long) page * pageSize);
            }
            assertEquals(16 * 7, sum);
            segment.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 5L * pageSize, (byte) 42);
            String real = file.toRealPath().toString();
            List<StartupPages.PagedMapping> mappings;
            try (BufferedReader smaps = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
                mappings = StartupPages.mappingsOf(smaps, Set.of(real));
            }
            assertEquals(1, mappings.size(), "the one mapping of the file: " + mappings);
            List<StartupPages.Mapping> runs;
            try (var pagemap = java.nio.channels.FileChannel.open(Path.of("/proc/self/pagemap"))) {
                runs = StartupPages.filePages(pagemap, mappings.get(0));
            }

            long start = segment.address();
            assertEquals(List.of(new StartupPages.Mapping(start, start + 5L * pageSize, real),
                    new StartupPages.Mapping(start + 6L * pageSize, start + 16L * pageSize, real)), runs,
                    "every page read, but not the one written");
            for (StartupPages.Mapping run : runs) {
                assertEquals(0, Native.madvise(run.start(), run.length(), StartupPages.MADV_PAGEOUT));
            }
            // The advice is best effort (a page the kernel is busy with stays): most of them left.
            try (var pagemap = java.nio.channels.FileChannel.open(Path.of("/proc/self/pagemap"))) {
                List<StartupPages.Mapping> left = StartupPages.filePages(pagemap, mappings.get(0));
                assertTrue(left.stream().mapToLong(StartupPages.Mapping::length).sum() <= 4L * pageSize,
                        "the file's pages left this process: " + left);
            }
            // What was given back is read again from the file; the written page kept its copy.
            assertEquals(42, segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 5L * pageSize));
            assertEquals(7, segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4L * pageSize));
            assertEquals(7, segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 15L * pageSize));
        }
    }

    private static String mapping(String range, String file, int anonymousKib) {
        return range + file + "\n"
                + "Size:               2956 kB\n"
                + "Rss:                2956 kB\n"
                + "Anonymous:          " + anonymousKib + " kB\n"
                + "KernelPageSize:        4 kB\n"
                + "VmFlags: rd mr mw me sd\n";
    }
}
