package ccc.core.ctl;

import ccc.core.config.ConfigException;
import ccc.core.config.ConfigLoader;
import ccc.core.json.Json;
import ccc.core.log.Log;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code ccc ctl}: commands that talk to a running core over its HTTP API, for operators in a
 * container that has no shell and no curl ({@code kubectl exec POD -- /opt/ccc/bin/ccc ctl status}).
 * Output is for people by default and the core's own JSON with {@code --json}; the exit code says
 * whether the core was reached and whether it refused.
 */
public final class Ctl {

    /** The command did what it was asked. */
    public static final int OK = 0;
    /** The core answered with an error (4xx, 5xx), or ended a stream because the client fell behind; its detail is on stderr. */
    public static final int REFUSED = 1;
    /** The command line was wrong, or a file it names could not be read. */
    public static final int USAGE = 2;
    /**
     * The core could not be reached, or the connection broke, or what came was no answer: not
     * within the call's timeout, longer than a bound, not the core's JSON.
     */
    public static final int UNREACHABLE = 3;

    /** The help text, {@code ccc ctl --help}. */
    public static final String USAGE_TEXT = """
            Usage: ccc ctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGUMENTS]

            Talks to a running core over its HTTP API.

              status                       the workload's lifecycle (/api/status)
              start [--payload FILE|-]     start the workload, or restart it, with the JSON object in FILE
                                           (- reads it from stdin; without, {})
              stop [--force]               stop the workload; --force kills its process tree at once
              update [--payload FILE|-]    hand the workload a live update
              signal NAME                  send a signal (HUP, USR1, TERM, ...) to the workload
              logs [-f] [--tail N] [--stream stdout|stderr|both]
                                           the workload's last output lines (100 by default);
                                           -f: then every new line, until interrupted
              events [--types TYPE,...]    the lifecycle's events as they happen, until interrupted;
                                           types: phase, exit, restart, request, traffic, shutdown
              metrics                      container, network, process and adapter figures

              --url URL          the core; default http://127.0.0.1:$CCC_PORT (8080 when CCC_PORT is unset)
              --token-file FILE  the bearer token, from FILE; else the environment's CCC_API_TOKEN
              --json             print the core's JSON, one object a line, control characters escaped

            Exit codes: 0 done; 1 the core refused (its detail on stderr); 2 usage error;
            3 the core could not be reached, or the connection broke, or sent no answer in time
            or within bounds.
            """;

    private final Map<String, String> environment;
    private final InputStream stdin;
    private final PrintStream out;
    private final PrintStream err;

    private Ctl(Map<String, String> environment, InputStream stdin, PrintStream out, PrintStream err) {
        this.environment = environment;
        this.stdin = stdin;
        this.out = out;
        this.err = err;
    }

    /** A command line that cannot be run; the message says why. */
    private static final class UsageError extends Exception {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message, null, false, false);
        }
    }

    /** Runs {@code ccc ctl ARGS}; returns the exit code. */
    public static int run(String[] args, Map<String, String> environment, InputStream stdin, PrintStream out, PrintStream err) {
        var ctl = new Ctl(environment, stdin, out, err);
        try {
            return ctl.dispatch(new ArrayList<>(List.of(args)));
        } catch (UsageError e) {
            err.println(shown("ccc ctl: " + e.getMessage() + "; see ccc ctl --help"));
            return USAGE;
        } catch (CoreClient.Refused e) {
            err.println(shown("ccc ctl: " + (e.status() == CoreClient.Refused.STREAM_ENDED ? "" : "the core answered " + e.status() + ": ")
                    + e.getMessage() + (e.status() == 401 ? " (give the token in CCC_API_TOKEN or with --token-file)" : "")));
            return REFUSED;
        } catch (CoreClient.Unreachable e) {
            err.println(shown("ccc ctl: " + e.getMessage()));
            return UNREACHABLE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private int dispatch(List<String> args) throws UsageError, CoreClient.Refused, CoreClient.Unreachable {
        if (args.isEmpty() || args.contains("--help") || args.contains("-h")) {
            out.print(USAGE_TEXT);
            return args.isEmpty() ? USAGE : OK;
        }
        Optional<String> url = option(args, "--url");
        Optional<String> tokenFile = option(args, "--token-file");
        boolean json = flag(args, "--json");
        if (args.isEmpty()) {
            throw new UsageError("no command");
        }
        String command = args.removeFirst();
        var client = new CoreClient(base(url), token(tokenFile));
        return switch (command) {
            case "status" -> {
                done(args);
                String answer = client.call("GET", "/api/status", null);
                yield print(answer, json, () -> printFields(CoreClient.object(answer)));
            }
            case "start", "update" -> {
                Optional<String> payload = option(args, "--payload");
                done(args);
                byte[] body = payload.isPresent() ? payload(payload.get()) : "{}".getBytes(StandardCharsets.UTF_8);
                String answer = client.call("POST", "/api/" + command, body);
                yield print(answer, json, () -> printMessage(answer));
            }
            case "stop" -> {
                boolean force = flag(args, "--force");
                done(args);
                String answer = client.call("POST", "/api/stop", force ? "{\"force\": true}".getBytes(StandardCharsets.UTF_8) : null);
                yield print(answer, json, () -> printMessage(answer));
            }
            case "signal" -> {
                if (args.size() != 1 || args.getFirst().startsWith("-")) {
                    throw new UsageError("signal needs one signal name, such as HUP");
                }
                byte[] body = Json.write(Map.of("signal", args.removeFirst()));
                String answer = client.call("POST", "/api/signal", body);
                yield print(answer, json, () -> printMessage(answer));
            }
            case "logs" -> logs(client, args, json);
            case "events" -> events(client, args, json);
            case "metrics" -> {
                done(args);
                String answer = client.call("GET", "/api/metrics", null);
                yield print(answer, json, () -> printFields(CoreClient.object(answer)));
            }
            default -> throw new UsageError("unknown command '" + command + "'");
        };
    }

    private int logs(CoreClient client, List<String> args, boolean json) throws UsageError, CoreClient.Refused, CoreClient.Unreachable {
        boolean follow = flag(args, "-f") | flag(args, "--follow");
        Optional<String> tail = option(args, "--tail");
        Optional<String> stream = option(args, "--stream");
        done(args);
        var query = new StringBuilder("?tail=").append(encode(tail.orElse("100")));
        stream.ifPresent(name -> query.append("&stream=").append(encode(name)));
        if (!follow) {
            String answer = client.call("GET", "/api/logs" + query, null);
            return print(answer, json, () -> {
                Object lines = CoreClient.object(answer).get("lines");
                if (lines instanceof List<?> list) {
                    for (Object line : list) {
                        printLine(line);
                    }
                }
            });
        }
        query.append("&follow=true");
        try (var lines = new BoundedLineReader(client.stream("/api/logs" + query, "application/x-ndjson"))) {
            String text;
            while ((text = lines.readLine()) != null) {
                if (text.isEmpty()) {
                    continue;
                }
                Map<String, Object> line = CoreClient.object(text);
                if ("dropped".equals(line.get("event"))) {
                    throw new CoreClient.Refused(CoreClient.Refused.STREAM_ENDED, "the core ended the stream: " + line.get("reason"));
                }
                if (json) {
                    printJson(line);
                } else {
                    printLine(line);
                }
                if (!lines.ready() && readerGone()) {
                    return OK;
                }
            }
            return OK;
        } catch (IOException e) {
            throw new CoreClient.Unreachable("the stream from " + client.base() + " broke: " + CoreClient.describe(e));
        }
    }

    private int events(CoreClient client, List<String> args, boolean json) throws UsageError, CoreClient.Refused, CoreClient.Unreachable {
        Optional<String> types = option(args, "--types");
        done(args);
        String path = "/api/events" + types.map(names -> "?types=" + encode(names)).orElse("");
        try (var events = new ServerSentEvents(client.stream(path, "text/event-stream"))) {
            Optional<ServerSentEvents.Event> next;
            while ((next = events.next()).isPresent()) {
                ServerSentEvents.Event event = next.get();
                Map<String, Object> data = CoreClient.object(event.data());
                if (event.type().equals("dropped")) {
                    throw new CoreClient.Refused(CoreClient.Refused.STREAM_ENDED, "the core ended the stream: " + data.get("reason"));
                }
                if (json) {
                    var line = new LinkedHashMap<String, Object>();
                    line.put("id", event.id() == null ? null : Long.parseLong(event.id()));
                    line.put("event", event.type());
                    line.put("data", data);
                    printJson(line);
                } else {
                    out.println(describe(event.type(), data));
                }
                if (!events.more() && readerGone()) {
                    return OK;
                }
            }
            return OK;
        } catch (IOException | NumberFormatException e) {
            throw new CoreClient.Unreachable("the stream from " + client.base() + " broke: " + e.getMessage());
        }
    }

    /**
     * Flushes what was printed; whether whoever read it has gone (a closed pipe: kubectl exec
     * ended without a terminal), so that a follow ends rather than run on unread.
     */
    private boolean readerGone() {
        return out.checkError() | err.checkError();
    }

    /**
     * Text from outside (the workload's output, the core's answers) as one line that a terminal
     * shows as it is: escaped as the core's log escapes it, so that no control character the
     * workload or a server chose can move the cursor, retitle the window or forge a line.
     */
    private static String shown(Object text) {
        return Log.oneLine(String.valueOf(text));
    }

    /** One event for people: its time, type and fields as {@code key=value}, nulls left out, {@linkplain #shown shown} as one line. */
    static String describe(String type, Map<String, Object> data) {
        var line = new StringBuilder();
        line.append(data.getOrDefault("timestamp", "")).append("  ").append(String.format("%-8s", type));
        data.forEach((key, value) -> {
            if (value != null && !key.equals("timestamp") && !key.equals("container_status") && !key.equals("adapter")) {
                line.append(' ').append(key).append('=').append(value instanceof String text && text.contains(" ") ? '"' + text + '"' : value);
            }
        });
        return shown(line);
    }

    /** An action that prints a JSON answer for people. */
    @FunctionalInterface
    private interface Printer {
        void print() throws CoreClient.Unreachable;
    }

    private int print(String answer, boolean json, Printer forPeople) throws CoreClient.Unreachable {
        if (json) {
            printJson(CoreClient.object(answer));
        } else {
            forPeople.print();
        }
        return OK;
    }

    /**
     * A JSON object as one line, written anew by the core's JSON writer and then {@linkplain
     * #shown shown}: whatever the server put between tokens (a carriage return is valid there) is
     * gone, and what JSON lets a string hold raw (DEL, C1, U+2028/U+2029) is escaped, as the same
     * JSON text.
     */
    private void printJson(Map<String, Object> object) {
        out.println(shown(new String(Json.write(object), StandardCharsets.UTF_8)));
    }

    private void printMessage(String answer) throws CoreClient.Unreachable {
        Object message = CoreClient.object(answer).get("message");
        out.println(shown(message == null ? answer.strip() : message));
    }

    /** A line of the workload's output: its text, to stderr when the workload wrote it there (as {@code docker logs} does). */
    private void printLine(Object line) {
        if (line instanceof Map<?, ?> fields) {
            (("stderr".equals(fields.get("stream"))) ? err : out).println(shown(fields.get("line")));
        }
    }

    /** Every field of a JSON object, nested ones as {@code system.cpu_percent}, one a line, aligned. */
    private void printFields(Map<String, Object> object) {
        var flat = new LinkedHashMap<String, Object>();
        flatten("", object, flat);
        int width = flat.keySet().stream().mapToInt(String::length).max().orElse(0);
        flat.forEach((key, value) -> out.println(shown(String.format("%-" + width + "s  %s", key, value == null ? "-" : value))));
    }

    private static void flatten(String prefix, Map<?, ?> object, Map<String, Object> flat) {
        object.forEach((key, value) -> {
            if (value instanceof Map<?, ?> nested) {
                flatten(prefix + key + ".", nested, flat);
            } else {
                flat.put(prefix + key, value);
            }
        });
    }

    private URI base(Optional<String> url) throws UsageError {
        String text;
        try {
            text = url.isPresent() ? url.get()
                    : "http://127.0.0.1:" + ConfigLoader.port("CCC_PORT", environment.getOrDefault("CCC_PORT", "8080"));
        } catch (ConfigException e) {
            throw new UsageError(e.getMessage());
        }
        try {
            URI uri = new URI(text.endsWith("/") ? text : text + "/");
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new UsageError("--url must be an http:// or https:// address with a host, got '" + text + "'");
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            throw new UsageError("--url is not an address: " + e.getMessage());
        }
    }

    private Optional<String> token(Optional<String> tokenFile) throws UsageError {
        if (tokenFile.isPresent()) {
            try {
                String token = Files.readString(Path.of(tokenFile.get())).strip();
                if (token.isEmpty()) {
                    throw new UsageError("--token-file " + tokenFile.get() + " is empty");
                }
                return Optional.of(token);
            } catch (IOException e) {
                throw new UsageError("--token-file " + tokenFile.get() + " cannot be read: " + CoreClient.describe(e));
            }
        }
        String fromEnvironment = environment.get("CCC_API_TOKEN");
        return fromEnvironment == null || fromEnvironment.isBlank() ? Optional.empty() : Optional.of(fromEnvironment.strip());
    }

    private byte[] payload(String source) throws UsageError {
        try {
            return source.equals("-") ? stdin.readAllBytes() : Files.readAllBytes(Path.of(source));
        } catch (IOException e) {
            throw new UsageError("--payload " + source + " cannot be read: " + CoreClient.describe(e));
        }
    }

    /** Removes {@code name VALUE} (or {@code name=VALUE}) from {@code args}; its value when it was there. */
    private static Optional<String> option(List<String> args, String name) throws UsageError {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals(name)) {
                if (i + 1 >= args.size()) {
                    throw new UsageError(name + " needs a value");
                }
                args.remove(i);
                return Optional.of(args.remove(i));
            }
            if (arg.startsWith(name + "=")) {
                args.remove(i);
                return Optional.of(arg.substring(name.length() + 1));
            }
        }
        return Optional.empty();
    }

    /** Removes {@code name} from {@code args}; whether it was there. */
    private static boolean flag(List<String> args, String name) {
        return args.remove(name);
    }

    /** Refuses whatever a command did not take. */
    private static void done(List<String> args) throws UsageError {
        if (!args.isEmpty()) {
            throw new UsageError("unexpected argument '" + args.getFirst() + "'");
        }
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
