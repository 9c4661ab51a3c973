package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Child lists and {@code stat} fields read from {@code /proc} as the kernel writes them, a held file read again as it is now. */
class ProcFileTest {

    @TempDir
    Path dir;

    private static Set<Long> numbers(ProcFile file) {
        var numbers = new ArrayList<Long>();
        file.numbersInto(numbers);
        return new HashSet<>(numbers);
    }

    private static Set<Long> childrenByTheJdk(Process process) {
        var pids = new HashSet<Long>();
        process.children().forEach(child -> pids.add(child.pid()));
        return pids;
    }

    @Test
    void aChildListHeldOpenIsReadAsItIsNow() throws Exception {
        Process shell = new ProcessBuilder("sh", "-c", "sleep 30 & sleep 30 & wait").start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (childrenByTheJdk(shell).size() < 2) {
                assertTrue(System.nanoTime() < deadline, "the shell did not start its children");
                Thread.onSpinWait();
            }
            try (ProcFile list = ProcFile.open("/proc/" + shell.pid() + "/task/" + shell.pid() + "/children")) {
                Set<Long> both = numbers(list);
                assertEquals(childrenByTheJdk(shell), both);
                long first = both.iterator().next();
                ProcessHandle.of(first).orElseThrow().destroyForcibly();
                // The shell collects it; the same open file, read again, no longer lists it.
                while (numbers(list.reread()).contains(first)) {
                    assertTrue(System.nanoTime() < deadline, "the ended child stayed in the list read again");
                    Thread.onSpinWait();
                }
                assertEquals(1, numbers(list).size());
            }
        } finally {
            shell.descendants().forEach(ProcessHandle::destroyForcibly);
            shell.destroyForcibly();
        }
    }

    @Test
    void statFieldsAreCountedFromTheLastParenthesisOfTheCommand() throws Exception {
        // A process names itself: its command may hold ") 1 2 3 (" to shift a naive parse's fields.
        Path disguised = Files.createSymbolicLink(dir.resolve("x) 7 7 7 ("), Path.of("/bin/sleep"));
        Process process = new ProcessBuilder(disguised.toString(), "30").start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String stat;
            while (!(stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"))).contains("(x) 7 7 7 ()")) {
                assertTrue(System.nanoTime() < deadline, "the command did not take the link's name: this test shows nothing");
                Thread.onSpinWait();
            }
            try (ProcFile file = ProcFile.open("/proc/" + process.pid() + "/stat");
                 ProcFile own = ProcFile.open("/proc/self/stat")) {
                assertEquals(ProcessHandle.current().pid(), file.statField(1), "parent");
                assertEquals(own.statField(2), file.statField(2), "process group: the JDK's children stay in its group");
                assertEquals(own.statField(3), file.statField(3), "session");
                assertTrue("RSD".indexOf(file.statState()) >= 0, stat);
            }
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void numbersAreParsedWhateverSeparatesThem() throws Exception {
        Path list = Files.writeString(dir.resolve("list"), "12 345\n6789 ");
        try (ProcFile file = ProcFile.open(list.toString())) {
            var numbers = new ArrayList<Long>();
            file.numbersInto(numbers);
            assertEquals(List.of(12L, 345L, 6789L), numbers);
        }
    }
}
