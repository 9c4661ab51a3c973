package ccc.core.process;

import java.util.List;
import java.util.OptionalLong;

/**
 * One account of {@code /etc/passwd}, with its supplementary groups from {@code /etc/group}.
 * Ids are the kernel's unsigned 32-bit ones, held as {@code long}.
 *
 * @param groups every group the user belongs to, the primary one included
 */
public record UserAccount(String name, long uid, long gid, String home, List<Long> groups) {

    /** The largest user or group id: one more, {@code (uid_t) -1}, means "leave unchanged" to the kernel's set*id calls. */
    public static final long MAX_ID = 0xFFFF_FFFEL;

    public UserAccount {
        groups = List.copyOf(groups);
    }

    /** {@code text} as a user or group id: decimal digits, 0 to {@link #MAX_ID}; empty for anything else. */
    public static OptionalLong parseId(String text) {
        if (text.isEmpty() || text.length() > 10 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return OptionalLong.empty();
        }
        long id = Long.parseLong(text);
        return id <= MAX_ID ? OptionalLong.of(id) : OptionalLong.empty();
    }
}
