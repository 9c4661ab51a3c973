/** The example adapter: a template for adapter authors, and the workload program it runs. */
module ccc.adapter.example {
    requires ccc.api;

    provides ccc.api.Adapter with ccc.adapter.example.ExampleAdapter;
}
