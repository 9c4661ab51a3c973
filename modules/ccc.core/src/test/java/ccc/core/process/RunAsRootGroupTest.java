package ccc.core.process;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A {@code run_as_user} whose uid is not 0 but whose group is (primary, or a supplementary
 * {@code root} membership) is no drop either: the workload keeps group root and reads what the
 * core keeps readable by its group, a mode-0640 {@code auth_token_file} owned by root:root among
 * it. It is refused as a uid-0 user is ({@link PrivilegeDrop#refusal}).
 */
class RunAsRootGroupTest {

    @Test
    void aUserWhosePrimaryGroupIsRootIsRefused() {
        var account = new UserAccount("app", 1003, 0, "/home/app", List.of(0L));
        assertTrue(PrivilegeDrop.refusal("app", account).isPresent(), "a run_as_user of gid 0 is accepted: the workload runs with group root");
    }

    @Test
    void aUserInTheRootGroupIsRefused() {
        var account = new UserAccount("app", 1003, 1003, "/home/app", List.of(1003L, 0L));
        assertTrue(PrivilegeDrop.refusal("app", account).isPresent(), "a run_as_user in group root is accepted: the workload runs with group root");
    }
}
