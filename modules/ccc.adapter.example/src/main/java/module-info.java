/** The example adapter: a template for adapter authors, and the flow runner workload it starts. */
module ccc.adapter.example {
    requires ccc.api;
    // The flow runner switches its log level on SIGUSR1, as the seed's workload does.
    requires jdk.unsupported;

    provides ccc.api.Adapter with ccc.adapter.example.ExampleAdapter;
}
