package ccc.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.spi.ToolProvider;

/** Adapters compiled against ccc.api alone and packed as modular jars, as their authors would: the README's SleepyAdapter and others. */
final class AdapterJar {

    private AdapterJar() {
    }

    /** Compiles the README's SleepyAdapter against ccc.api alone and jars it. */
    static void build(Path work, Path jar) throws IOException {
        build(work, jar, "com.example.sleepy", "SleepyAdapter", """
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
                """);
    }

    /**
     * Compiles {@code source}, one adapter class named {@code simpleName} in the package {@code module},
     * as the module {@code module} against ccc.api alone, and jars it.
     */
    static void build(Path work, Path jar, String module, String simpleName, String source) throws IOException {
        Path src = work.resolve("adapter-src-" + module);
        Path pkg = Files.createDirectories(src.resolve(module.replace('.', '/')));
        Files.writeString(src.resolve("module-info.java"), """
                module %1$s {
                    requires ccc.api;
                    provides ccc.api.Adapter with %1$s.%2$s;
                }
                """.formatted(module, simpleName));
        Files.writeString(pkg.resolve(simpleName + ".java"), source);
        Path api = Files.list(ImageProcess.IMAGE.resolveSibling("modules"))
                .filter(p -> p.getFileName().toString().startsWith("ccc.api-")).findFirst().orElseThrow();
        Path classes = work.resolve("adapter-classes-" + module);
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
