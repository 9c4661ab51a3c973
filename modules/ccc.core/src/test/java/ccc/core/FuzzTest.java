package ccc.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hundreds of malformed requests, sent as raw bytes: each must be refused with a 4xx, and a
 * JSON {@code detail} whenever the request reached the core; the core must stay healthy and
 * start nothing.
 */
class FuzzTest {

    /** One malformed request: its family, and whether the JDK's HTTP parser may refuse it before the core sees it. */
    private record Attack(String family, byte[] bytes, boolean protocolLevel, int pauseMillis) {
    }

    private SleepAdapter adapter;
    private TestCore core;

    @BeforeEach
    void startCore() throws Exception {
        adapter = new SleepAdapter();
        core = TestCore.start(adapter, "");
    }

    @AfterEach
    void stopCore() {
        core.close();
        Processes.killAll(adapter.marker);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] post(String path, byte[] body, String contentType) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(bytes("POST " + path + " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n"));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static List<Attack> attacks() {
        var attacks = new ArrayList<Attack>();
        var random = new Random(20261128);
        List<String> bodyRoutes = List.of("/api/start", "/api/update", "/api/stop", "/api/signal");

        List<String> badJson = List.of("{", "[", "{\"a\":", "{\"a\" 1}", "{'a': 1}", "{a:1}", "{\"a\":1,}", "NaN", "{\"a\": NaN}",
                "{\"a\": Infinity}", "{\"a\": 01}", "{\"a\": .5}", "{\"a\": \"unterminated}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12\"}",
                "{\"a\": tru}", "{\"a\": nul}", "}", "{\"a\":1}}", "{\"a\":1} {\"b\":2}", "[1,2]", "\"text\"", "42", "true", "null",
                "{\"a\":[1,2}", "{\"a\":{\"b\":1]}", "/* comment */ {}", "{\"a\":1 // comment\n}", "\uFEFF[1]");
        for (String route : bodyRoutes) {
            for (String json : badJson) {
                // /api/stop's body is optional, and a JSON null is none given (ApiContractTest).
                if (route.equals("/api/stop") && json.equals("null")) {
                    continue;
                }
                attacks.add(new Attack("bad JSON", post(route, json.getBytes(StandardCharsets.UTF_8), "application/json"), false, 0));
            }
        }
        for (int i = 0; i < 40; i++) {
            byte[] noise = new byte[1 + random.nextInt(300)];
            random.nextBytes(noise);
            noise[0] = (byte) "{[\"x!~".charAt(random.nextInt(6));
            attacks.add(new Attack("random bytes", post(bodyRoutes.get(i % 4), noise, "application/json"), false, 0));
        }
        for (String number : List.of("1e999999", "9".repeat(200), "-" + "1".repeat(1000), "0." + "0".repeat(500) + "1", "1" + "0".repeat(5000))) {
            attacks.add(new Attack("huge number", post("/api/start", bytes("{\"n\": " + number + "}"), "application/json"), false, 0));
        }
        for (int depth : List.of(65, 100, 1000, 10_000, 100_000)) {
            attacks.add(new Attack("deep nesting", post("/api/start", bytes("[".repeat(depth) + "]".repeat(depth)), "application/json"), false, 0));
            attacks.add(new Attack("deep nesting", post("/api/update", bytes("{\"a\":".repeat(depth) + "1" + "}".repeat(depth)), null), false, 0));
        }
        for (byte[] invalid : List.of(new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xC0, (byte) 0xAF},
                new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                new byte[] {(byte) 0xE2, (byte) 0x82})) {
            var body = new ByteArrayOutputStream();
            body.writeBytes(bytes("{\"flowfile\": \""));
            body.writeBytes(invalid);
            body.writeBytes(bytes("\"}"));
            attacks.add(new Attack("invalid UTF-8", post("/api/start", body.toByteArray(), "application/json"), false, 0));
        }
        for (String duplicate : List.of("{\"a\":1,\"a\":2}", "{\"flowfile\":\"x\",\"flowfile\":\"y\"}", "{\"o\":{\"k\":1,\"k\":1}}",
                "{\"force\":true,\"force\":false}")) {
            attacks.add(new Attack("duplicate keys", post("/api/start", bytes(duplicate), "application/json"), false, 0));
            attacks.add(new Attack("duplicate keys", post("/api/stop", bytes(duplicate), "application/json"), false, 0));
        }
        for (String nul : List.of("{\"a\":\"x\0y\"}", "\0{}", "{\"a\0\":1}", "{\"a\":1}\0", "{\0}")) {
            attacks.add(new Attack("NUL bytes", post("/api/start", bytes(nul), "application/json"), false, 0));
        }
        attacks.add(new Attack("string too long", post("/api/start", bytes("{\"s\":\"" + "x".repeat(300_000) + "\"}"), "application/json"), false, 0));
        attacks.add(new Attack("name too long", post("/api/start", bytes("{\"" + "k".repeat(5000) + "\":1}"), "application/json"), false, 0));
        attacks.add(new Attack("body too large", post("/api/start", bytes("{\"s\":\"" + "x".repeat(2 << 20) + "\"}"), "application/json"), false, 0));
        attacks.add(new Attack("body too large", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: 99999999999\r\n\r\n{}"), false, 0));
        for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "json")) {
            attacks.add(new Attack("wrong content type", post("/api/start", bytes("{\"a\":1}"), type), false, 0));
        }
        Map<String, List<String>> routes = new TreeMap<>(Map.of(
                "/api/health", List.of("POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
                "/api/status", List.of("POST", "PUT", "DELETE", "PATCH"),
                "/api/start", List.of("GET", "PUT", "DELETE", "PATCH", "OPTIONS"),
                "/api/update", List.of("GET", "PUT", "DELETE", "PATCH"),
                "/api/stop", List.of("GET", "PUT", "DELETE", "PATCH"),
                "/api/signal", List.of("GET", "PUT", "DELETE"),
                "/api/logs", List.of("POST", "PUT", "DELETE"),
                "/api/metrics", List.of("POST", "PUT", "DELETE"),
                "/metrics", List.of("POST", "PUT", "DELETE", "PATCH")));
        routes.forEach((path, methods) -> methods.forEach(method -> attacks.add(new Attack("wrong method",
                bytes(method + " " + path + " HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), false, 0))));
        for (String path : List.of("/api/../etc/passwd", "/%00", "/api/start//", "/api/nothing/", "/API/START", "/api/" + "a".repeat(8000), "/api/st%C3%A4rt",
                "/metrics/x", "//api/health", "/api/health;x=1", "/.env", "/api", "/favicon.ico")) {
            attacks.add(new Attack("unknown path", bytes("GET " + path + " HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n"), false, 0));
        }
        attacks.add(new Attack("bad query", bytes("GET /api/logs?tail=%ZZ HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n"), true, 0));
        for (String query : List.of("tail=99999999999", "tail=-5", "stream=all", "tail=1e3", "stream=%00", "tail=")) {
            attacks.add(new Attack("bad query", bytes("GET /api/logs?" + query + " HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n"), false, 0));
        }
        attacks.add(new Attack("chunked body", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Type: application/json\r\n\r\n4\r\n{\"a\"\r\n3\r\n: 1\r\n0\r\n\r\n"), false, 0));
        attacks.add(new Attack("chunked body", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Type: application/json\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"), false, 0));
        attacks.add(new Attack("chunked body", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Type: application/json\r\n\r\n200000\r\n" + "[".repeat(2 << 20) + "\r\n0\r\n\r\n"), false, 0));
        attacks.add(new Attack("chunked body", bytes("POST /api/update HTTP/1.1\r\nHost: f\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                + "\r\n5\r\n[1,2]\r\n0\r\n\r\n"), false, 0));
        for (int i = 0; i < 4; i++) {
            attacks.add(new Attack("slow body", post(bodyRoutes.get(i), bytes("{\"slow\": [1, 2, 3,"), "application/json"), false, 60));
        }
        attacks.add(new Attack("short body", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{\"a\":"), false, 0));
        attacks.add(new Attack("bad Content-Length", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: -5\r\n\r\n{}"), true, 0));
        attacks.add(new Attack("bad Content-Length", bytes("POST /api/start HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: abc\r\n\r\n{}"), true, 0));

        var manyHeaders = new StringBuilder("GET /api/status HTTP/1.1\r\nHost: f\r\nConnection: close\r\n");
        for (int i = 0; i < 150; i++) {
            manyHeaders.append("X-Fuzz-").append(i).append(": ").append(i).append("\r\n");
        }
        attacks.add(new Attack("too many headers", bytes(manyHeaders + "\r\n"), true, 0));
        attacks.add(new Attack("giant header", bytes("GET /api/status HTTP/1.1\r\nHost: f\r\nConnection: close\r\nX-Big: " + "a".repeat(100_000) + "\r\n\r\n"), true, 0));
        attacks.add(new Attack("giant header", bytes("GET /api/status HTTP/1.1\r\nHost: f\r\nConnection: close\r\nCookie: " + "c=1; ".repeat(20_000) + "\r\n\r\n"), true, 0));
        attacks.add(new Attack("bad header", bytes("GET /api/status HTTP/1.1\r\nHost: f\r\nBad Header Line\r\n\r\n"), true, 0));
        attacks.add(new Attack("bad request line", bytes("GET /api/sta\0tus HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n"), true, 0));
        attacks.add(new Attack("bad request line", bytes("GARBAGE\r\n\r\n"), true, 0));
        attacks.add(new Attack("bad request line", bytes("GET\r\n\r\n"), true, 0));
        attacks.add(new Attack("bad request line", bytes(" /api/health HTTP/1.1\r\nConnection: close\r\n\r\n"), true, 0));
        return attacks;
    }

    /** What came back: a status (0 when the connection closed with none), the content type and body. */
    private record Answer(int status, String contentType, String body) {
    }

    private Answer send(Attack attack) throws IOException, InterruptedException {
        try (var socket = new Socket("127.0.0.1", core.core.port())) {
            socket.setSoTimeout(15_000);
            var out = socket.getOutputStream();
            if (attack.pauseMillis() > 0) {
                int step = Math.max(1, attack.bytes().length / 5);
                for (int i = 0; i < attack.bytes().length; i += step) {
                    out.write(attack.bytes(), i, Math.min(step, attack.bytes().length - i));
                    out.flush();
                    Thread.sleep(attack.pauseMillis());
                }
            } else {
                try {
                    out.write(attack.bytes());
                    out.flush();
                } catch (IOException e) {
                    // The server may refuse and close before reading everything; its answer is still there to read.
                }
            }
            try {
                socket.shutdownOutput();
            } catch (IOException ignored) {
                // Already closed by the server.
            }
            return parse(socket.getInputStream());
        }
    }

    private static Answer parse(InputStream in) {
        byte[] raw;
        try {
            raw = in.readAllBytes();
        } catch (IOException e) {
            return new Answer(0, null, "");
        }
        String text = new String(raw, StandardCharsets.UTF_8);
        if (!text.startsWith("HTTP/1.1 ")) {
            return new Answer(0, null, text);
        }
        int headEnd = text.indexOf("\r\n\r\n");
        String head = text.substring(0, headEnd < 0 ? text.length() : headEnd);
        String contentType = head.lines().filter(line -> line.toLowerCase().startsWith("content-type:"))
                .map(line -> line.substring(13).trim()).findFirst().orElse(null);
        return new Answer(Integer.parseInt(text.substring(9, 12)), contentType, headEnd < 0 ? "" : text.substring(headEnd + 4));
    }

    @Test
    void aBodyBeyondAJsonLimitIsToldWhichLimitInTheCoresWords() {
        var bodies = new LinkedHashMap<String, String>();
        bodies.put("{\"flowfile\": \"" + "x".repeat(ccc.core.json.Json.MAX_STRING_CHARACTERS + 1) + "\"}",
                "a string value is longer than " + ccc.core.json.Json.MAX_STRING_CHARACTERS + " characters");
        bodies.put("{\"n\": " + "9".repeat(ccc.core.json.Json.MAX_NUMBER_DIGITS + 1) + "}",
                "a number is longer than " + ccc.core.json.Json.MAX_NUMBER_DIGITS + " digits");
        bodies.put("{\"" + "k".repeat(ccc.core.json.Json.MAX_NAME_CHARACTERS + 1) + "\": 1}",
                "a key is longer than " + ccc.core.json.Json.MAX_NAME_CHARACTERS + " characters");
        bodies.put("{\"a\": " + "[".repeat(ccc.core.json.Json.MAX_NESTING_DEPTH + 1) + "]".repeat(ccc.core.json.Json.MAX_NESTING_DEPTH + 1) + "}",
                "objects and arrays nest deeper than " + ccc.core.json.Json.MAX_NESTING_DEPTH + " levels");
        bodies.forEach((body, limit) -> {
            TestCore.Reply reply = core.post("/api/start", body);
            assertEquals(422, reply.status(), reply.body());
            assertEquals("body exceeds a JSON limit: " + limit, reply.json().get("detail"));
        });
    }

    @Test
    void everyMalformedRequestIsRefusedWithA4xxAndTheCoreStaysHealthy() throws Exception {
        List<Attack> attacks = attacks();
        assertTrue(attacks.size() >= 200, "at least 200 malformed requests, have " + attacks.size());
        var byFamily = new TreeMap<String, Integer>();
        var refusedByJdk = new LinkedHashMap<String, Integer>();
        var failures = new ArrayList<String>();
        for (Attack attack : attacks) {
            byFamily.merge(attack.family(), 1, Integer::sum);
            Answer answer = send(attack);
            String shown = attack.family() + ": " + new String(attack.bytes(), 0, Math.min(120, attack.bytes().length), StandardCharsets.ISO_8859_1)
                    .replace("\r\n", "\\r\\n") + " -> " + answer.status() + " " + answer.contentType() + " "
                    + answer.body().substring(0, Math.min(160, answer.body().length()));
            boolean fromCore = "application/json".equals(answer.contentType());
            if (fromCore) {
                if (answer.status() < 400 || answer.status() >= 500) {
                    failures.add("not a 4xx: " + shown);
                    continue;
                }
                Object detail = JSON.std.mapFrom(answer.body()).get("detail");
                if (!(detail instanceof String text) || text.isBlank()) {
                    failures.add("no detail: " + shown);
                }
            } else if (attack.protocolLevel() && (answer.status() == 0 || (answer.status() >= 400 && answer.status() < 500))) {
                refusedByJdk.merge(attack.family(), 1, Integer::sum);
            } else {
                failures.add("not answered by the core with JSON: " + shown);
            }
            if (!failures.isEmpty() && failures.size() > 20) {
                break;
            }
        }
        assertEquals(List.of(), failures);
        assertEquals(200, core.get("/api/health").status());
        assertEquals("idle", core.status().get("phase"), "no malformed request started anything");
        assertEquals(0, adapter.starts.get());
        System.out.println("malformed requests: " + attacks.size() + " " + byFamily
                + "; refused by the JDK's HTTP parser before the core: " + refusedByJdk);
    }
}
