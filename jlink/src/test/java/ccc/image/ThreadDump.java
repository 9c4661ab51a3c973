package ccc.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A running core's threads, virtual ones included, from {@code jcmd Thread.dump_to_file -format=json} of the JDK that runs the tests. */
record ThreadDump(String json) {

    /** The threads of {@code pid} now. */
    static ThreadDump of(long pid, Path work) throws IOException, InterruptedException {
        Path file = work.resolve("threads-" + System.nanoTime() + ".json");
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.dump_to_file", "-format=json", file.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0 || !Files.exists(file)) {
            throw new AssertionError("jcmd Thread.dump_to_file failed: " + output);
        }
        String json = Files.readString(file);
        Files.delete(file);
        return new ThreadDump(json);
    }

    /** Every thread, platform and virtual. */
    int threads() {
        return count(Pattern.compile("\"tid\": \""));
    }

    /** The threads whose name starts with {@code prefix}. */
    int named(String prefix) {
        // The dump writes a slash as \/.
        return count(Pattern.compile("\"name\": \"" + Pattern.quote(prefix.replace("/", "\\/"))));
    }

    private int count(Pattern pattern) {
        Matcher matcher = pattern.matcher(json);
        int count = 0;
        while (matcher.find()) {
            count++;
        }
        return count;
    }
}
