package ccc.core.process;

import ccc.core.log.Log;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Gives the kernel back the pages of the JVM's own files that start-up read and serving does not
 * need: the dynamic linker's tables and the boot code of {@code libjvm.so}, the classes of the
 * modules file that the AOT cache replaced. They stay resident after start-up otherwise (about
 * 4 MiB of the idle core), since a read-only file page leaves a process only under memory
 * pressure. {@code madvise(2)} with {@code MADV_PAGEOUT} (Linux 5.4) reclaims them once, when
 * start-up is over; what the core goes on using is read back at its next use.
 *
 * <p>Only mappings that cannot have been written are advised: not writable, and holding no
 * anonymous page (the relocated part of {@code libjvm.so}, made read-only after the dynamic
 * linker wrote it, holds its only copy in anonymous pages). The kernel leaves alone any page
 * another process maps too.
 *
 * <p>The AOT cache ({@code lib/ccc.aot}) is mapped writable, and the JVM's relocation of it at
 * start-up copied most of its pages; the rest (about 4 MiB: symbols and bytecodes the relocation
 * did not touch) are still the file's. Of it only those pages are advised, found one by one in
 * {@code /proc/self/pagemap}: a copied page has no other copy, and advising it would only send it
 * to swap.
 */
public final class StartupPages {

    /** madvise(2)'s advice to reclaim the pages now (linux/mman.h). */
    static final int MADV_PAGEOUT = 21;

    // A /proc/PID/pagemap entry (one per page, 64 bits): bit 63 "present", bit 61 "a file page or
    // shared anonymous memory" (Documentation/admin-guide/mm/pagemap.rst).
    private static final long PAGE_PRESENT = 1L << 63;
    private static final long PAGE_OF_FILE = 1L << 61;

    private static final Log LOG = Log.named("core");

    private StartupPages() {
    }

    /** One mapping of a file: {@code [start, end)} in this process's address space. */
    record Mapping(long start, long end, String file) {
        long length() {
            return end - start;
        }
    }

    /**
     * How long after the core listens the pages are given back at the soonest: the first answers
     * come first (the page-out, and linking the call it makes, take 50 to 110 ms of a CPU).
     */
    public static final Duration AFTER_LISTENING = Duration.ofSeconds(1);

    /**
     * How long no request may have been answered before the pages are given back: a page-out
     * while requests are served would give back pages they are reading, only for them to be
     * read in again.
     */
    public static final Duration QUIET_FOR = Duration.ofSeconds(1);

    /** The latest the pages are given back, after listening, however busy the core is. */
    public static final Duration AT_THE_LATEST = Duration.ofSeconds(30);

    /**
     * {@link #release()}, on a virtual thread, once {@link #AFTER_LISTENING} has passed and no
     * request has been answered for {@link #QUIET_FOR} ({@code lastAnswered}: the
     * {@link System#nanoTime()} of the latest answer), or at {@link #AT_THE_LATEST}; completes
     * with the bytes advised (0 if the core ends first).
     */
    public static CompletableFuture<Long> releaseWhenQuiet(LongSupplier lastAnswered) {
        return releaseWhenQuiet(lastAnswered, AT_THE_LATEST);
    }

    static CompletableFuture<Long> releaseWhenQuiet(LongSupplier lastAnswered, Duration atTheLatest) {
        var released = new CompletableFuture<Long>();
        long listened = System.nanoTime();
        Thread.ofVirtual().name("startup-pages").start(() -> {
            try {
                Thread.sleep(AFTER_LISTENING);
                long quietNanos = QUIET_FOR.toNanos();
                while (true) {
                    long now = System.nanoTime();
                    long last = lastAnswered.getAsLong();
                    // nanoTime values compare by their difference only.
                    long quietSince = last - listened > 0 ? last : listened;
                    if (now - quietSince >= quietNanos || now - listened >= atTheLatest.toNanos()) {
                        break;
                    }
                    Thread.sleep(Duration.ofNanos(quietNanos - (now - quietSince)));
                }
                released.complete(release());
            } catch (InterruptedException e) {
                // The core is ending: nothing to give back.
                released.complete(0L);
            }
        });
        return released;
    }

    /**
     * Pages out this JVM's read-only mappings of {@code libjvm.so} and the modules file, and the
     * AOT cache's pages that are still the file's; returns the bytes advised (0 where the kernel
     * refuses the advice or {@code /proc} cannot be read).
     */
    public static long release() {
        long began = System.nanoTime();
        Path home = Path.of(System.getProperty("java.home"));
        Set<String> files = realPaths(home.resolve("lib/server/libjvm.so"), home.resolve("lib/modules"));
        Set<String> cache = realPaths(home.resolve("lib/ccc.aot"));
        List<Mapping> mappings;
        long cacheBytes = 0;
        try (BufferedReader smaps = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
            mappings = new ArrayList<>(unwritten(smaps, files));
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("start-up pages kept: /proc/self/smaps cannot be read", "error", Log.describe(e));
            return 0;
        }
        if (!cache.isEmpty()) {
            try (BufferedReader smaps = Files.newBufferedReader(Path.of("/proc/self/smaps"));
                    FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"))) {
                for (PagedMapping mapping : mappingsOf(smaps, cache)) {
                    for (Mapping run : filePages(pagemap, mapping)) {
                        mappings.add(run);
                        cacheBytes += run.length();
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                LOG.debug("the AOT cache's pages kept: /proc/self/pagemap cannot be read", "error", Log.describe(e));
            }
        }
        long advised = 0;
        for (Mapping mapping : mappings) {
            int result;
            try {
                result = Native.madvise(mapping.start(), mapping.length(), MADV_PAGEOUT);
            } catch (IllegalStateException e) {
                // The call could not be made at all: the pages stay, and the core serves regardless.
                LOG.debug("start-up pages kept: madvise(2) cannot be called", "error", Log.describe(e));
                return advised;
            }
            if (result < 0) {
                LOG.debug("start-up pages kept: madvise(2) refused", "file", mapping.file(), "errno", -result);
                return advised;
            }
            advised += mapping.length();
        }
        LOG.debug("start-up pages given back", "mappings", mappings.size(), "kib", advised / 1024,
                "cache_kib", cacheBytes / 1024, "ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));
        return advised;
    }

    /**
     * The mappings of {@code files} in {@code smaps} (the format of {@code /proc/PID/smaps}) that
     * are not writable and hold no anonymous page.
     */
    static List<Mapping> unwritten(BufferedReader smaps, Set<String> files) throws IOException {
        List<Mapping> found = new ArrayList<>();
        Mapping candidate = null;
        String line;
        while ((line = smaps.readLine()) != null) {
            if (startsMapping(line)) {
                candidate = mappingStartedBy(line, files, false);
            } else if (candidate != null && line.startsWith("Anonymous:")) {
                if (line.substring("Anonymous:".length()).strip().equals("0 kB")) {
                    found.add(candidate);
                }
                candidate = null;
            }
        }
        return found;
    }

    /**
     * The mapping that {@code line}, a mapping's first line in {@code smaps}, starts, if it maps
     * one of {@code files} and is not writable (or {@code writableToo}); null otherwise.
     */
    private static Mapping mappingStartedBy(String line, Set<String> files, boolean writableToo) {
        // "7f3c1c200000-7f3c1c4e3000 r--p 00000000 fd:01 1234   /path/libjvm.so"
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        int path = line.indexOf('/');
        if (dash > 0 && space > dash && path > space && (writableToo || line.charAt(space + 2) != 'w')
                && files.contains(line.substring(path).strip())) {
            return new Mapping(Long.parseUnsignedLong(line, 0, dash, 16), Long.parseUnsignedLong(line, dash + 1, space, 16),
                    line.substring(path).strip());
        }
        return null;
    }

    /** A mapping and the size of its pages, as {@code smaps} gives it ({@code KernelPageSize}). */
    record PagedMapping(Mapping mapping, long pageSize) {
    }

    /** Every mapping of {@code files} in {@code smaps}, whatever its permissions. */
    static List<PagedMapping> mappingsOf(BufferedReader smaps, Set<String> files) throws IOException {
        List<PagedMapping> found = new ArrayList<>();
        Mapping candidate = null;
        String line;
        while ((line = smaps.readLine()) != null) {
            if (startsMapping(line)) {
                candidate = mappingStartedBy(line, files, true);
            } else if (candidate != null && line.startsWith("KernelPageSize:")) {
                // "KernelPageSize:        4 kB"
                String kib = line.substring("KernelPageSize:".length()).strip();
                found.add(new PagedMapping(candidate, Long.parseLong(kib.substring(0, kib.indexOf(' '))) * 1024));
                candidate = null;
            }
        }
        return found;
    }

    /**
     * The runs of pages of {@code mapping} that are resident and still the file's, as {@code
     * pagemap} (this process's {@code /proc/self/pagemap}) tells; a page the process wrote (a
     * private copy) ends a run.
     */
    static List<Mapping> filePages(FileChannel pagemap, PagedMapping paged) throws IOException {
        Mapping mapping = paged.mapping();
        long pageSize = paged.pageSize();
        long pages = mapping.length() / pageSize;
        ByteBuffer entries = ByteBuffer.allocate(Math.toIntExact(pages * Long.BYTES)).order(ByteOrder.nativeOrder());
        long position = mapping.start() / pageSize * Long.BYTES;
        while (entries.hasRemaining() && pagemap.read(entries, position + entries.position()) > 0) {
            // pagemap answers a page range at a time.
        }
        entries.flip();
        List<Mapping> runs = new ArrayList<>();
        long runStart = -1;
        for (long page = 0; page < pages; page++) {
            long entry = entries.remaining() >= Long.BYTES ? entries.getLong() : 0;
            boolean ofFile = (entry & PAGE_PRESENT) != 0 && (entry & PAGE_OF_FILE) != 0;
            long address = mapping.start() + page * pageSize;
            if (ofFile && runStart < 0) {
                runStart = address;
            } else if (!ofFile && runStart >= 0) {
                runs.add(new Mapping(runStart, address, mapping.file()));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            runs.add(new Mapping(runStart, mapping.end(), mapping.file()));
        }
        return runs;
    }

    // A mapping's line starts with its address in lower-case hexadecimal; the lines of its
    // figures start with a capitalised name ("Rss:", "Anonymous:").
    private static boolean startsMapping(String line) {
        if (line.isEmpty()) {
            return false;
        }
        char first = line.charAt(0);
        return (first >= '0' && first <= '9') || (first >= 'a' && first <= 'f');
    }

    private static Set<String> realPaths(Path... paths) {
        var real = new java.util.HashSet<String>();
        for (Path path : paths) {
            try {
                real.add(path.toRealPath().toString());
            } catch (IOException e) {
                // A JVM without this file (another layout): nothing of it to give back.
            }
        }
        return real;
    }
}
