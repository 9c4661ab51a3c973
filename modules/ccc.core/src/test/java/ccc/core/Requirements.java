package ccc.core;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need root or a system tool skip with a message on a developer's machine, and fail
 * on CI (env {@code CI=true}), where .ci/run installs everything and nothing may skip.
 */
public final class Requirements {

    private Requirements() {
    }

    public static void require(boolean available, String reason) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.assertTrue(available, "required on CI: " + reason);
        }
        Assumptions.assumeTrue(available, "skipped: " + reason);
    }
}
