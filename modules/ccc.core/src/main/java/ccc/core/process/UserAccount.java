package ccc.core.process;

/** One account of {@code /etc/passwd}. */
public record UserAccount(String name, int uid, int gid, String home) {
}
