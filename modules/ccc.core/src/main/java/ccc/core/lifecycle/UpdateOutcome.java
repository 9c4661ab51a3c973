package ccc.core.lifecycle;

/** What became of an {@code /api/update}. */
public sealed interface UpdateOutcome {

    /** Nothing runs to update. */
    record NotRunning() implements UpdateOutcome {
    }

    /** The adapter answered. */
    record Answered(ccc.api.UpdateResult result) implements UpdateOutcome {
    }

    /** The adapter threw or did not answer in time. */
    record Failed(String reason) implements UpdateOutcome {
    }
}
