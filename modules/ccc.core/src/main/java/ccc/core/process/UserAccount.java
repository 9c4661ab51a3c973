package ccc.core.process;

import java.util.List;

/**
 * One account of {@code /etc/passwd}, with its supplementary groups from {@code /etc/group}.
 *
 * @param groups every group the user belongs to, the primary one included
 */
public record UserAccount(String name, int uid, int gid, String home, List<Integer> groups) {

    public UserAccount {
        groups = List.copyOf(groups);
    }
}
