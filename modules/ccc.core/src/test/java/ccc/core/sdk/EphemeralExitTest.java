package ccc.core.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ccc.core.lifecycle.Phase;
import ccc.core.lifecycle.Snapshot;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The exit code of an ephemeral core for the workload's end. */
class EphemeralExitTest {

    private static Snapshot ended(Phase phase, OptionalInt code) {
        return new Snapshot(phase, "a", OptionalLong.empty(), Optional.empty(), Optional.empty(), code, 0, List.of());
    }

    @Test
    void theWorkloadsOwnCodeOrTwoWhenItNeverRan() {
        assertEquals(0, EphemeralExit.exitCodeOf(ended(Phase.EXITED, OptionalInt.of(0))));
        assertEquals(3, EphemeralExit.exitCodeOf(ended(Phase.FAILED, OptionalInt.of(3))));
        assertEquals(137, EphemeralExit.exitCodeOf(ended(Phase.FAILED, OptionalInt.of(137))), "SIGKILL: 128 + 9");
        assertEquals(EphemeralExit.START_FAILED, EphemeralExit.exitCodeOf(ended(Phase.FAILED, OptionalInt.empty())));
        assertEquals(EphemeralExit.START_FAILED, EphemeralExit.exitCodeOf(ended(Phase.FAILED, OptionalInt.of(-1))), "the watch failed");
    }

    @Test
    void theFirstEndForGoodDecides() {
        var exit = new EphemeralExit();
        assertFalse(exit.exitCode().toCompletableFuture().isDone());
        exit.endedForGood(ended(Phase.FAILED, OptionalInt.of(3)));
        exit.endedForGood(ended(Phase.EXITED, OptionalInt.of(0)));
        assertEquals(3, exit.exitCode().toCompletableFuture().join());
    }
}
