package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.spi.ToolProvider;

/** Adapters compiled against ccc.api alone and packed as modular jars: the README's SleepyAdapter, or any one-class adapter. */
final class AdapterJar {

    private AdapterJar() {
    }

    /** The README's SleepyAdapter. */
    static final String SLEEPY_CLASS = "com.example.sleepy.SleepyAdapter";

    /** Its source, as the README gives it. */
    static final String SLEEPY_SOURCE = """
                package com.example.sleepy;

                import ccc.api.Adapter;
                import ccc.api.AdapterContext;
                import ccc.api.Launch;
                import ccc.api.Payload;
                import ccc.api.Workload;
                import ccc.api.WorkloadProcess;

                public final class SleepyAdapter implements Adapter {
                    private WorkloadProcess process;

                    @Override
                    public Workload start(Payload payload, AdapterContext context) throws Exception {
                        String seconds = payload.string("seconds").orElse(context.config().string("seconds").orElse("60"));
                        process = context.launch(Launch.of("sleep", seconds));
                        return process;
                    }

                    @Override
                    public void stop() throws Exception {
                        if (process != null && process.signal("TERM")) {
                            process.exit().toCompletableFuture().get();
                        }
                    }
                }
                """;

    /** Compiles the README's SleepyAdapter against ccc.api alone and jars it. */
    static void build(Path work, Path jar) throws IOException {
        build(work, jar, SLEEPY_CLASS, SLEEPY_SOURCE);
    }

    /** Compiles the adapter class {@code className} from {@code source} as the module of its package's name, and jars it. */
    static void build(Path work, Path jar, String className, String source) throws IOException {
        build(work, jar, className, source, imageApi());
    }

    /** The ccc.api jar the runtime image was linked from. */
    static Path imageApi() throws IOException {
        try (var modules = Files.list(ImageProcess.IMAGE.resolveSibling("modules"))) {
            return modules.filter(p -> p.getFileName().toString().startsWith("ccc.api-")).findFirst().orElseThrow();
        }
    }

    /** A copy of the image's ccc.api jar that says it is version {@code version}, to compile an adapter against. */
    static Path apiVersioned(Path work, String version) throws IOException {
        Path copy = Files.copy(imageApi(), work.resolve("ccc.api-" + version + ".jar"));
        run("jar", "--update", "--file", copy.toString(), "--module-version", version);
        return copy;
    }

    /** As {@link #build(Path, Path, String, String)}, compiled against {@code api}. */
    static void build(Path work, Path jar, String className, String source, Path api) throws IOException {
        String packageName = className.substring(0, className.lastIndexOf('.'));
        String simpleName = className.substring(className.lastIndexOf('.') + 1);
        Path src = work.resolve("adapter-src-" + simpleName);
        Path pkg = Files.createDirectories(src.resolve(packageName.replace('.', '/')));
        Files.writeString(src.resolve("module-info.java"), """
                module %s {
                    requires ccc.api;
                    provides ccc.api.Adapter with %s;
                }
                """.formatted(packageName, className));
        Files.writeString(pkg.resolve(simpleName + ".java"), source);
        Path classes = work.resolve("adapter-classes-" + simpleName);
        run("javac", "--module-path", api.toString(), "-d", classes.toString(),
                src.resolve("module-info.java").toString(), pkg.resolve(simpleName + ".java").toString());
        run("jar", "--create", "--file", jar.toString(), "-C", classes.toString(), ".");
    }

    private static void run(String tool, String... args) {
        var out = new StringWriter();
        int status = ToolProvider.findFirst(tool).orElseThrow().run(new PrintWriter(out, true), new PrintWriter(out, true), args);
        assertEquals(0, status, tool + ": " + out);
    }

}
