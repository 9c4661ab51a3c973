/**
 * The immutable core: serves the control API, owns the workload's lifecycle and reports
 * container-level metrics. It binds one {@link ccc.api.Adapter} found with
 * {@link java.util.ServiceLoader}, in the runtime image or in an adapters directory.
 * It exports nothing to adapters; the test kit alone sees the supervisor.
 */
module ccc.core {
    requires ccc.api;
    requires jdk.httpserver;
    // The HTTP client of `ccc ctl`, which talks to a running core.
    requires java.net.http;
    requires jdk.unsupported;
    requires com.fasterxml.jackson.jr.ob;
    requires org.yaml.snakeyaml;
    requires simpleclient;
    requires simpleclient.common;
    requires simpleclient.httpserver;

    uses ccc.api.Adapter;

    // The JDK's own loggers (its HTTP server's among them) write through the core's log.
    provides java.lang.System.LoggerFinder with ccc.core.log.CoreLoggerFinder;

    // For the test kit only, which drives a supervisor without the HTTP API.
    exports ccc.core to ccc.testkit;
    exports ccc.core.adapters to ccc.testkit;
    exports ccc.core.config to ccc.testkit;
    exports ccc.core.lifecycle to ccc.testkit;
    exports ccc.core.process to ccc.testkit;
}
