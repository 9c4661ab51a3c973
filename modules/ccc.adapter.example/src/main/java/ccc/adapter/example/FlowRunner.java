package ccc.adapter.example;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The example workload: sends HTTP GET requests to each flow's URL at the flow's rate, and
 * prints its counters every few seconds. A flows file holds one flow a line,
 * {@code <requests per second> <url>}; blank lines and lines starting with {@code #} are skipped.
 */
public final class FlowRunner {

    /** One flow: a target and a rate. */
    record Flow(double ratePerSecond, URI target) {
    }

    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !args[0].equals("--flows")) {
            System.err.println("usage: FlowRunner --flows FILE");
            System.exit(2);
        }
        List<Flow> flows = parse(Files.readAllLines(Path.of(args[1])));
        System.out.println("flow runner: " + flows.size() + " flow(s) from " + args[1]);
        new FlowRunner().run(flows, Long.MAX_VALUE);
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

    /** Sends requests for {@code millis} milliseconds (or forever). */
    void run(List<Flow> flows, long millis) throws InterruptedException {
        try (var scheduler = Executors.newScheduledThreadPool(1, Thread.ofVirtual().factory())) {
            for (Flow flow : flows) {
                long periodMicros = (long) (1_000_000 / flow.ratePerSecond());
                scheduler.scheduleAtFixedRate(() -> Thread.ofVirtual().start(() -> send(flow.target())),
                        0, periodMicros, TimeUnit.MICROSECONDS);
            }
            scheduler.scheduleAtFixedRate(this::report, 5, 5, TimeUnit.SECONDS);
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
        } catch (IOException | RuntimeException e) {
            errors.incrementAndGet();
        }
    }

    long sent() {
        return sent.get();
    }

    long errors() {
        return errors.get();
    }

    private void report() {
        System.out.println("flow runner: sent=" + sent.get() + " errors=" + errors.get());
    }
}
