/**
 * The adapter contract of the Container Control Core.
 *
 * <p>An adapter module {@code requires ccc.api} and {@code provides ccc.api.Adapter} with its
 * implementation; the core finds it with {@link java.util.ServiceLoader}. Everything in this
 * module is stable API: it depends on {@code java.base} only, so an adapter's build pulls in
 * this one small jar.
 */
module ccc.api {
    exports ccc.api;
}
