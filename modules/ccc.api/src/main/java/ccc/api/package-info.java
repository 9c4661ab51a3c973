/**
 * The adapter contract of the Container Control Core: what an adapter author compiles against.
 *
 * <p><b>Stability.</b> Every public type here is stable API. Within a major version the core
 * only adds to it (new default methods, new types), and an adapter built against an earlier
 * minor version keeps working; the core checks, when it loads an adapter jar, that the
 * {@code ccc.api} version the jar was compiled against (recorded by {@code javac} in the jar's
 * module descriptor) is one it can run, and says so in its log when it is not. {@code @since}
 * names the version that added each type or method.
 *
 * <p><b>Threads and time.</b> The core calls an adapter's lifecycle methods ({@link
 * ccc.api.Adapter#start}, {@link ccc.api.Adapter#stop}, {@link ccc.api.Adapter#update}, the
 * hooks) one at a time, each on a thread of its own and bounded by a timeout from
 * {@code config.yaml}'s {@code lifecycle} section; when the timeout runs out the core interrupts
 * that thread and carries on. {@link ccc.api.Adapter#metrics} and
 * {@link ccc.api.Adapter#prometheusMetrics} are called from other threads at any time.
 *
 * @since 0.1
 */
package ccc.api;
