package ccc.api;

/**
 * The three outcomes of a live update, answered by {@code /api/update} as 200, 409 and 409.
 *
 * @since 0.1
 */
public enum UpdateResult {
    /** The workload took the change. */
    APPLIED,
    /** The adapter understood the request and chose not to apply it. */
    DECLINED,
    /** The adapter has no live update at all. */
    NOT_SUPPORTED
}
