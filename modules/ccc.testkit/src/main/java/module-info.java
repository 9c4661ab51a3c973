/**
 * The adapter authors' test kit: drives an adapter through the core's real lifecycle and
 * launcher, without the HTTP server, with any test framework.
 */
module ccc.testkit {
    requires transitive ccc.api;
    requires ccc.core;

    exports ccc.testkit;
}
