package ccc.core.log;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Keeps secrets out of logs and API output. Values under payload keys that look secret
 * (password, token, secret, key, credential, …) are learnt as they arrive, and every line the
 * core logs or serves about the workload (its output, its command line, errors) has them
 * replaced by {@code ***}.
 */
public final class Redactor {

    /** What replaces a secret. */
    public static final String MASK = "***";

    private static final Pattern SECRET_KEY = Pattern.compile(
            "(?i).*(pass(word|wd|phrase)?|pwd|token|secret|key|credential|auth|cookie|session|private|signature|salt).*");
    private static final int MIN_SECRET_LENGTH = 3;
    private static final int MAX_SECRETS_KEPT = 256;

    private volatile List<String> secrets = List.of();

    /** Whether a payload key names a secret. */
    public static boolean isSecretKey(String key) {
        return SECRET_KEY.matcher(key).matches();
    }

    /** Learns the secret values of a payload, keeping those learnt before (a workload may still print them). */
    public synchronized void learn(Map<String, ?> payload) {
        var found = new LinkedHashSet<String>(secrets);
        collect(payload, false, found);
        var sorted = new ArrayList<>(found);
        if (sorted.size() > MAX_SECRETS_KEPT) {
            sorted = new ArrayList<>(sorted.subList(sorted.size() - MAX_SECRETS_KEPT, sorted.size()));
        }
        // Longest first, so that a secret containing another is masked whole.
        sorted.sort(Comparator.comparingInt(String::length).reversed());
        secrets = List.copyOf(sorted);
    }

    private static void collect(Object value, boolean secret, Collection<String> found) {
        if (value instanceof Map<?, ?> map) {
            map.forEach((key, nested) -> collect(nested, secret || isSecretKey(String.valueOf(key)), found));
        } else if (value instanceof List<?> list) {
            list.forEach(nested -> collect(nested, secret, found));
        } else if (secret && value != null) {
            String text = String.valueOf(value);
            if (text.length() >= MIN_SECRET_LENGTH) {
                found.add(text);
            }
        }
    }

    /** {@code text} with every known secret masked. */
    public String redact(String text) {
        List<String> known = secrets;
        if (text == null || known.isEmpty()) {
            return text;
        }
        String result = text;
        for (String secret : known) {
            if (result.contains(secret)) {
                result = result.replace(secret, MASK);
            }
        }
        return result;
    }

    /** A copy of a payload for logging, with the values under secret keys masked. */
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
        return value;
    }
}
