/**
 * The immutable core: serves the control API, owns the workload's lifecycle and reports
 * container-level metrics. It binds one {@link ccc.api.Adapter} found with
 * {@link java.util.ServiceLoader}, in the runtime image or in an adapters directory.
 * It exports nothing.
 */
module ccc.core {
    requires ccc.api;
    requires jdk.httpserver;
    requires jdk.unsupported;
    requires com.fasterxml.jackson.jr.ob;
    requires org.yaml.snakeyaml;
    requires simpleclient;
    requires simpleclient.common;
    requires simpleclient.httpserver;

    uses ccc.api.Adapter;
}
