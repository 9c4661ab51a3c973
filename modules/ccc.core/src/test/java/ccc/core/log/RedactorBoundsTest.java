package ccc.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a client can make the redactor learn: bounded secrets that protect, and never a plain word; which keys and which parts of URLs are secret. */
class RedactorBoundsTest {

    @Test
    void plainWordsAndNumbersAndShortValuesAreNotLearnt() {
        var redactor = new Redactor();
        redactor.learn(Map.of("password", "workload", "token", "running", "secret", "123456789012345",
                "api_key", "abc", "auth", "      ", "session", "start requested"));
        assertEquals(List.of(), redactor.secrets());
        assertEquals("workload running: start requested 123456789012345", redactor.redact("workload running: start requested 123456789012345"));
    }

    @Test
    void mixedOrLongValuesAreLearnt() {
        var redactor = new Redactor();
        redactor.learn(Map.of("password", "hunter2", "token", "k-12345", "passphrase", "correct horse battery staple",
                "pwd", "1234567890123456"));
        assertEquals("*** *** *** ***", redactor.redact("hunter2 k-12345 correct horse battery staple 1234567890123456"));
    }

    @Test
    void eachLineOfAMultiLineValueIsLearnt() {
        var redactor = new Redactor();
        String key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7\nabc\n-----END PRIVATE KEY-----\n";
        redactor.learn(Map.of("private_key", key));
        assertEquals("line *** and ***", redactor.redact("line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC and BKcwggSjAgEAAoIBAQC7"));
        assertFalse(redactor.secrets().contains("abc"), "too short a line");
        assertFalse(redactor.secrets().stream().anyMatch(secret -> secret.contains("\n") || secret.contains("\r")));
    }

    @Test
    void aLongValueIsLearntInPiecesThatMaskItWhole() {
        var redactor = new Redactor();
        var random = new java.util.Random(42);
        var bytes = new byte[2064];
        random.nextBytes(bytes);
        String jwt = "eyJ" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        redactor.learn(Map.of("token", jwt));
        assertEquals(3, redactor.secrets().size(), "2,755 characters in three near-equal pieces");
        assertTrue(redactor.secrets().stream().allMatch(piece -> piece.length() <= Redactor.MAX_SECRET_CHARS));
        assertEquals("Bearer *********", redactor.redact("Bearer " + jwt));
    }

    @Test
    void hugeValuesAndManyStartsKeepAtMostTheBoundNewestFirst() {
        var redactor = new Redactor();
        for (int start = 0; start < 1000; start++) {
            redactor.learn(Map.of("password", ("p" + start + "-").repeat(256 * 1024 / 3 + 1).substring(0, 256 * 1024),
                    "db", Map.of("password", "db-secret-" + start)));
        }
        List<String> secrets = redactor.secrets();
        assertEquals(Redactor.MAX_SECRETS_KEPT, secrets.size());
        assertTrue(secrets.stream().allMatch(secret -> secret.length() <= Redactor.MAX_SECRET_CHARS));
        assertTrue(secrets.contains("db-secret-999") || secrets.stream().anyMatch(s -> s.startsWith("p999-")), "the newest are kept");
        assertFalse(secrets.contains("db-secret-0"), "the oldest are forgotten");
    }

    @Test
    void aCutIsMovedToTheStartOfASecretItWouldSplit() {
        var redactor = new Redactor();
        redactor.learn(Map.of("password", "s3cr3t-value"));
        byte[] bytes = "0123456789s3cr3t-value0123".getBytes(StandardCharsets.UTF_8);
        assertEquals(10, redactor.cutBeforeSecret(bytes, bytes.length, 15), "inside the secret");
        assertEquals(10, redactor.cutBeforeSecret(bytes, bytes.length, 11));
        assertEquals(10, redactor.cutBeforeSecret(bytes, bytes.length, 10), "at its start already");
        assertEquals(22, redactor.cutBeforeSecret(bytes, bytes.length, 22), "at its end");
        assertEquals(5, redactor.cutBeforeSecret(bytes, bytes.length, 5), "before it");
        assertEquals(12, redactor.longestSecretBytes());
    }

    @Test
    void aCutFindsSecretsByTheirUtf8Bytes() {
        var redactor = new Redactor();
        redactor.learn(Map.of("password", "pässwörd-€"));
        byte[] bytes = "xx pässwörd-€ yy".getBytes(StandardCharsets.UTF_8);
        int start = "xx ".length();
        assertEquals(start, redactor.cutBeforeSecret(bytes, bytes.length, start + 5));
        assertEquals("pässwörd-€".getBytes(StandardCharsets.UTF_8).length, redactor.longestSecretBytes());
    }

    @Test
    void shortSecretNamesCountAsWholeWordsOfAKeyOnly() {
        for (String key : List.of("dsn", "DSN", "db_dsn", "DATABASE_DSN", "sentryDsn", "jwt", "userJwt", "jwt-id", "otp", "otp_code", "OTP",
                "pin", "PIN", "userPin", "card-pin", "pin_code", "sim.pin")) {
            assertTrue(Redactor.isSecretKey(key), key);
        }
        for (String key : List.of("spinner", "pinned", "PINNED", "Pinterest", "shipping", "mapping", "hotpot", "options", "jwtx", "dsnake", "flowfile")) {
            assertFalse(Redactor.isSecretKey(key), key);
        }
        assertEquals(Map.of("dsn", Redactor.MASK, "userPin", Redactor.MASK, "spinner", "on"),
                Redactor.masked(Map.of("dsn", "postgres://app:DsnPassw0rd-x@db/x", "userPin", "4711", "spinner", "on")));
    }

    @Test
    void thePasswordOfAUrlIsMaskedInAnyText() {
        var secrets = new Redactor();
        assertEquals("connecting to postgres://app:***@db/x as planned", secrets.redact("connecting to postgres://app:DsnPassw0rd-x@db/x as planned"));
        assertEquals("redis://:***@cache:6379/0", secrets.redact("redis://:p@ss@cache:6379/0"), "an unescaped @ in the password is masked too");
        assertEquals("a=amqp://u:***@mq b=https://v:***@web/", secrets.redact("a=amqp://u:one-pw@mq b=https://v:two-pw@web/"));
        for (String plain : List.of("https://user@host/path", "http://host:8080/path", "mailto:someone@example.com", "no url here")) {
            assertEquals(plain, secrets.redact(plain));
        }
        assertEquals(Map.of("database_url", "postgres://app:***@db/orders", "nested", Map.of("url", "mysql://root:***@sql")),
                Redactor.masked(Map.of("database_url", "postgres://app:Url-Pw-0001@db/orders", "nested", Map.of("url", "mysql://root:Url-Pw-0002@sql"))));
    }

    @Test
    void thePasswordOfAUrlInAPayloadIsLearntSoItIsMaskedAlone() {
        var secrets = new Redactor();
        secrets.learn(Map.of("database_url", "postgres://app:Hunter2-Url-Pw@db/x"));
        assertEquals("the workload printed *** on its own", secrets.redact("the workload printed Hunter2-Url-Pw on its own"));
    }
}
