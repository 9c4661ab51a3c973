package ccc.adapter.example;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The example workload: sends HTTP GET requests to each flow's URL at the flow's rate. A flows
 * file holds one flow a line, {@code <requests per second> <url>}; blank lines and lines
 * starting with {@code #} are skipped. Every second it writes its figures (requests sent,
 * errors, rate over the last second, log level) to the stats file, as Java properties. SIGUSR1
 * switches its log level between INFO and DEBUG; at DEBUG it prints every request.
 */
public final class FlowRunner {

    /** One flow: a target and a rate. */
    record Flow(double ratePerSecond, URI target) {
    }

    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicBoolean debug = new AtomicBoolean();
    private long sentAtLastReport;

    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !args[0].equals("--flows") || !args[2].equals("--stats")) {
            System.err.println("usage: FlowRunner --flows FILE --stats FILE");
            System.exit(2);
        }
        List<Flow> flows = parse(Files.readAllLines(Path.of(args[1])));
        var runner = new FlowRunner();
        sun.misc.Signal.handle(new sun.misc.Signal("USR1"), signal -> runner.switchLogLevel());
        System.out.println("flow runner: " + flows.size() + " flow(s) from " + args[1]);
        runner.run(flows, Long.MAX_VALUE, Path.of(args[3]));
    }

    static List<Flow> parse(List<String> lines) {
        var flows = new ArrayList<Flow>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] fields = line.split("\\s+");
            try {
                double rate = Double.parseDouble(fields[0]);
                URI target = URI.create(fields[1]);
                if (!(rate > 0) || rate > 10_000 || !"http".equals(target.getScheme()) && !"https".equals(target.getScheme())) {
                    throw new IllegalArgumentException("rate must be in (0, 10000] and the URL http(s)");
                }
                flows.add(new Flow(rate, target));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("flows line " + (i + 1) + ": expected '<rate> <url>': " + e.getMessage(), e);
            }
        }
        return flows;
    }

    /** Sends requests for {@code millis} milliseconds (or forever), writing figures to {@code stats} every second. */
    void run(List<Flow> flows, long millis, Path stats) throws InterruptedException {
        try (var scheduler = Executors.newScheduledThreadPool(1, Thread.ofVirtual().factory())) {
            for (Flow flow : flows) {
                long periodMicros = (long) (1_000_000 / flow.ratePerSecond());
                scheduler.scheduleAtFixedRate(() -> Thread.ofVirtual().start(() -> send(flow.target())),
                        0, periodMicros, TimeUnit.MICROSECONDS);
            }
            if (stats != null) {
                scheduler.scheduleAtFixedRate(() -> writeStats(stats), 1, 1, TimeUnit.SECONDS);
            }
            scheduler.awaitTermination(millis, TimeUnit.MILLISECONDS);
            scheduler.shutdownNow();
        }
    }

    void send(URI target) {
        try {
            var connection = (HttpURLConnection) target.toURL().openConnection();
            connection.setConnectTimeout(2000);
            connection.setReadTimeout(5000);
            int status = connection.getResponseCode();
            (status < 400 ? connection.getInputStream() : connection.getErrorStream()).readAllBytes();
            (status < 400 ? sent : errors).incrementAndGet();
            if (debug.get()) {
                System.out.println("flow runner: GET " + target + " -> " + status);
            }
        } catch (IOException | RuntimeException e) {
            errors.incrementAndGet();
        }
    }

    void switchLogLevel() {
        boolean now = !debug.get();
        debug.set(now);
        System.out.println("flow runner: log level " + logLevel());
    }

    String logLevel() {
        return debug.get() ? "DEBUG" : "INFO";
    }

    /** Writes the figures atomically, so a reader never sees half a file. */
    synchronized void writeStats(Path stats) {
        long total = sent.get();
        String figures = "sent=" + total + "\nerrors=" + errors.get() + "\nrate=" + (total - sentAtLastReport)
                + "\nlog_level=" + logLevel() + "\n";
        sentAtLastReport = total;
        try {
            Path temporary = stats.resolveSibling(stats.getFileName() + ".tmp");
            Files.writeString(temporary, figures);
            Files.move(temporary, stats, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            System.err.println("flow runner: cannot write " + stats + ": " + e.getMessage());
        }
    }

    long sent() {
        return sent.get();
    }

    long errors() {
        return errors.get();
    }
}
