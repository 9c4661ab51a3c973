package ccc.core.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A secret from the configuration, such as the API token: never printed, compared in constant time. */
public final class Secret {

    private final byte[] digest;

    private Secret(String value) {
        this.digest = sha256(value);
    }

    public static Secret of(String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("a secret must not be empty");
        }
        return new Secret(value.strip());
    }

    /**
     * Whether {@code candidate} is the secret. Both sides are hashed first, so the comparison
     * takes the same time whatever the candidate's length or content.
     */
    public boolean matches(String candidate) {
        return candidate != null && MessageDigest.isEqual(digest, sha256(candidate));
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    @Override
    public String toString() {
        return "***";
    }
}
