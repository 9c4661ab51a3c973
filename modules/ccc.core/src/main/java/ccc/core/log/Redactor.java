package ccc.core.log;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps secrets out of logs and API output. Values under payload keys that look secret
 * (password, token, secret, key, credential, …) are learnt from the starts the lifecycle
 * begins, and every line the core logs or serves about the workload (its output, its command
 * line, errors) has them replaced by {@code ***}.
 *
 * <p>What is learnt is bounded, since payloads come from API clients: at most
 * {@link #MAX_SECRETS_KEPT} secrets of at most {@link #MAX_SECRET_CHARS} characters. A value is
 * learnt line by line (a key file's lines each become a secret), each line without its
 * surrounding blanks, a longer line in near-equal pieces. A line shorter than
 * {@link #MIN_SECRET_CHARS}, blank, or a plain word or number (letters and spaces only, or
 * digits only, shorter than {@link #PLAIN_UNDER_CHARS}) is not learnt: masking it would blind
 * the log (a client could otherwise make "workload" a secret), and it protects nothing.
 */
public final class Redactor {

    /** What replaces a secret. */
    public static final String MASK = "***";
    /** How many secrets are kept; when more are learnt, the oldest are forgotten first. */
    public static final int MAX_SECRETS_KEPT = 64;
    /** The longest secret, in characters; a longer line of a value is learnt in pieces no longer than this. */
    public static final int MAX_SECRET_CHARS = 1024;
    /** The shortest secret, in characters. */
    public static final int MIN_SECRET_CHARS = 6;
    /** Letters and spaces only, or digits only, and shorter than this: a plain word or number, never learnt. */
    public static final int PLAIN_UNDER_CHARS = 16;

    private static final Pattern SECRET_KEY = Pattern.compile(
            "(?i).*(pass(word|wd|phrase)?|pwd|token|secret|key|credential|auth|cookie|session|private|signature|salt).*");
    /** Short names of secrets, which count only as whole words of a key ("db_dsn", "userPin"), not inside others ("spinner"). */
    private static final Set<String> SECRET_KEY_WORDS = Set.of("dsn", "jwt", "otp", "pin");
    /** Where a key's words part: at anything but a letter or digit, and where a lower-case letter or digit meets an upper-case one. */
    private static final Pattern KEY_WORD_BOUNDARY = Pattern.compile("[^\\p{Alnum}]+|(?<=[\\p{Lower}\\p{Digit}])(?=\\p{Upper})");
    /**
     * The password of a URL's user information ({@code scheme://user:password@host}): masked in
     * every text the redactor is given, learnt or not. It runs to the last {@code @} before the
     * path, so a password with an unescaped {@code @} is masked whole.
     */
    private static final Pattern URL_PASSWORD = Pattern.compile("(\\b[A-Za-z][A-Za-z0-9+.-]*://[^\\s/:@]*:)([^\\s/]+)@");

    /**
     * What is known, replaced whole on each change so that readers never lock.
     *
     * @param learnt in the order learnt, oldest first
     * @param longestFirst for masking, so that a secret containing another is masked whole
     * @param longestFirstUtf8 the same as UTF-8 bytes, each byte one ISO-8859-1 character, for searching raw output
     * @param longestUtf8Bytes the longest secret's length in UTF-8
     */
    private record Known(List<String> learnt, List<String> longestFirst, List<String> longestFirstUtf8, int longestUtf8Bytes) {
        static final Known NONE = new Known(List.of(), List.of(), List.of(), 0);

        static Known of(Collection<String> learnt) {
            var sorted = new ArrayList<>(learnt);
            sorted.sort(Comparator.comparingInt(String::length).reversed());
            var utf8 = sorted.stream()
                    .map(secret -> new String(secret.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1))
                    .toList();
            int longest = utf8.stream().mapToInt(String::length).max().orElse(0);
            return new Known(List.copyOf(learnt), List.copyOf(sorted), utf8, longest);
        }
    }

    private volatile Known known = Known.NONE;

    /** Whether a payload key names a secret. */
    public static boolean isSecretKey(String key) {
        if (SECRET_KEY.matcher(key).matches()) {
            return true;
        }
        for (String word : KEY_WORD_BOUNDARY.split(key)) {
            if (SECRET_KEY_WORDS.contains(word.toLowerCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }

    /** {@code text} with the password of every URL in it masked ({@code postgres://app:***@db/orders}). */
    static String maskUrlPasswords(String text) {
        if (text.indexOf("://") < 0) {
            return text;
        }
        return URL_PASSWORD.matcher(text).replaceAll(match -> Matcher.quoteReplacement(match.group(1) + MASK + "@"));
    }

    /** Learns the secret values of a payload, keeping those learnt before (a workload may still print them). */
    public synchronized void learn(Map<String, ?> payload) {
        var found = new ArrayList<String>();
        collect(payload, false, found);
        if (found.isEmpty()) {
            return;
        }
        var kept = new LinkedHashSet<>(known.learnt());
        for (String secret : found) {
            // Learnt again: now among the newest.
            kept.remove(secret);
            kept.add(secret);
        }
        var newest = new ArrayList<>(kept);
        if (newest.size() > MAX_SECRETS_KEPT) {
            newest = new ArrayList<>(newest.subList(newest.size() - MAX_SECRETS_KEPT, newest.size()));
        }
        known = Known.of(newest);
    }

    private static void collect(Object value, boolean secret, Collection<String> found) {
        if (value instanceof Map<?, ?> map) {
            map.forEach((key, nested) -> collect(nested, secret || isSecretKey(String.valueOf(key)), found));
        } else if (value instanceof List<?> list) {
            list.forEach(nested -> collect(nested, secret, found));
        } else if (secret && value != null) {
            String.valueOf(value).lines().map(String::strip).forEach(line -> pieces(line, found));
        } else if (value instanceof String text && text.contains("://")) {
            // A URL's password under any key: learnt, so the workload printing it alone is masked too.
            Matcher url = URL_PASSWORD.matcher(text);
            while (url.find()) {
                pieces(url.group(2), found);
            }
        }
    }

    /** A line as secrets: itself, or near-equal pieces of at most {@link #MAX_SECRET_CHARS} when longer. */
    private static void pieces(String line, Collection<String> found) {
        int count = (line.length() + MAX_SECRET_CHARS - 1) / MAX_SECRET_CHARS;
        int size = count <= 1 ? line.length() : (line.length() + count - 1) / count;
        for (int start = 0; start < line.length(); ) {
            int end = Math.min(line.length(), start + size);
            if (end < line.length() && Character.isHighSurrogate(line.charAt(end - 1))) {
                end--;
            }
            String piece = line.substring(start, end);
            if (learnable(piece)) {
                found.add(piece);
            }
            start = end;
        }
    }

    /** Whether {@code text} is worth masking: long enough, not blank, and not a plain word or number. */
    static boolean learnable(String text) {
        if (text.length() < MIN_SECRET_CHARS || text.isBlank()) {
            return false;
        }
        if (text.length() >= PLAIN_UNDER_CHARS) {
            return true;
        }
        boolean words = text.chars().allMatch(c -> Character.isLetter(c) || Character.isSpaceChar(c));
        boolean number = text.chars().allMatch(Character::isDigit);
        return !words && !number;
    }

    /** The secrets known, longest first. */
    public List<String> secrets() {
        return known.longestFirst();
    }

    /** {@code text} with every known secret, and every URL's password, masked. */
    public String redact(String text) {
        if (text == null) {
            return null;
        }
        List<String> secrets = known.longestFirst();
        String result = maskUrlPasswords(text);
        if (secrets.isEmpty()) {
            return result;
        }
        for (String secret : secrets) {
            if (result.contains(secret)) {
                result = result.replace(secret, MASK);
            }
        }
        return result;
    }

    /** The longest known secret's length in UTF-8 bytes; 0 when none is known. */
    public int longestSecretBytes() {
        return known.longestUtf8Bytes();
    }

    /**
     * Where raw UTF-8 output in {@code bytes[0, length)} may be cut at {@code cut} without
     * splitting a secret: {@code cut} itself, or the start of the leftmost secret that begins
     * before it and ends after it.
     */
    public int cutBeforeSecret(byte[] bytes, int length, int cut) {
        Known current = known;
        if (current.longestUtf8Bytes() == 0 || cut <= 0 || cut >= length) {
            return cut;
        }
        int from = Math.max(0, cut - current.longestUtf8Bytes() + 1);
        int to = Math.min(length, cut + current.longestUtf8Bytes() - 1);
        // One byte, one character: String's fast search then finds byte sequences.
        String window = new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
        int best = cut;
        for (String secret : current.longestFirstUtf8()) {
            for (int at = window.indexOf(secret); at >= 0 && from + at < best; at = window.indexOf(secret, at + 1)) {
                if (from + at + secret.length() > cut) {
                    best = from + at;
                    break;
                }
            }
        }
        return best;
    }

    /** A copy of a payload for logging, with the values under secret keys, and the passwords of URLs, masked. */
    public static Map<String, Object> masked(Map<String, ?> payload) {
        var copy = new LinkedHashMap<String, Object>();
        payload.forEach((key, value) -> copy.put(key, isSecretKey(key) ? MASK : maskedValue(value)));
        return copy;
    }

    @SuppressWarnings("unchecked")
    private static Object maskedValue(Object value) {
        if (value instanceof Map<?, ?> map) {
            return masked((Map<String, ?>) map);
        }
        if (value instanceof List<?> list) {
            return list.stream().map(Redactor::maskedValue).toList();
        }
        return value instanceof String text ? maskUrlPasswords(text) : value;
    }
}
