import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Links the runtime image: gives every library jar that lacks one a module descriptor derived
 * with jdeps, then runs jlink over the core, the example adapter and their libraries. The JRE
 * modules are not listed here: jlink derives them from the descriptors' {@code requires}.
 *
 * <p>Usage: {@code java LinkRuntime.java MODULES_DIR OUTPUT_DIR EXAMPLE_CONFIG EXEC_HELPER LAUNCHER}
 */
public final class LinkRuntime {

    // bin/ccc is the static C launcher (ccc-launcher.c), which execs the JVM so that signals reach
    // the core, and runs where there is no shell. Where no C compiler built it, this script does
    // the same (jlink's own --launcher script does not exec the JVM, so SIGTERM would stop at the shell).
    private static final String SHELL_LAUNCHER = """
            #!/bin/sh
            # Starts the Container Control Core as ccc-launcher.c does. exec: signals must reach the JVM, not this shell.
            DIR=$(dirname "$0")
            AOT=""
            [ -f "$DIR/../lib/ccc.aot" ] && AOT="-XX:AOTCache=$DIR/../lib/ccc.aot"
            exec "$DIR/java" $AOT --enable-native-access=ccc.core $CCC_JAVA_OPTIONS -m ccc.core/ccc.core.Main "$@"
            """;
    private static final List<String> ROOT_MODULES = List.of("ccc.core", "ccc.adapter.example");
    // Defaults for a small sidecar, stored in the image so that every launch of bin/java has them;
    // the README's "JVM options" section gives the reason for each.
    // The young generation stays below the initial heap: the cache's archived heap objects are
    // loaded into the old generation, and the JVM refuses the cache when there is no room there.
    // The JDK spins its foreign-function stubs and lambda forms at run time (the cache cannot hold them);
    // C1's compile of the stack map generator they run through takes 6.7 MB of arena, which the C heap keeps.
    // C1 compiles a method after 1,000 calls, not 200: what start-up and the first requests run
    // a few hundred times stays interpreted, and its code and compiler arenas are not resident.
    // "quiet": the JVM would otherwise print each CompileCommand to standard output at every launch.
    private static final String JVM_OPTIONS = String.join(" ",
            "-XX:+UseSerialGC", "-Xms16m", "-Xmn6m", "-XX:SurvivorRatio=2", "-Xmx96m", "-XX:MaxHeapFreeRatio=30", "-XX:MinHeapFreeRatio=10",
            "-XX:MaxMetaspaceSize=64m", "-Xss512k", "-XX:StringTableSize=4096",
            "-XX:TieredStopAtLevel=1", "-XX:CompileThresholdScaling=5", "-XX:ReservedCodeCacheSize=16m", "-XX:TrimNativeHeapInterval=10000",
            "-XX:CompileCommand=quiet", "-XX:CompileCommand=exclude,jdk.internal.classfile.impl.StackMapGenerator::processBlock");

    public static void main(String[] args) throws IOException {
        Path modules = Path.of(args[0]);
        Path output = Path.of(args[1]);
        Path exampleConfig = Path.of(args[2]);
        Path execHelper = Path.of(args[3]);
        Path launcherProgram = Path.of(args[4]);

        addMissingDescriptors(modules, modules.resolveSibling("module-descriptors"));
        deleteTree(output);
        run("jlink",
                "--module-path", modules.toString(),
                "--add-modules", String.join(",", ROOT_MODULES),
                "--strip-debug",
                "--no-man-pages",
                "--no-header-files",
                "--compress", "zip-6",
                "--add-options", JVM_OPTIONS,
                "--output", output.toString());
        Path launcher = output.resolve("bin/ccc");
        if (Files.isExecutable(launcherProgram)) {
            Files.copy(launcherProgram, launcher, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        } else {
            System.out.println("warning: " + launcherProgram + " was not built (no C compiler?); bin/ccc is a shell script,"
                    + " which an image without a shell cannot run");
            Files.writeString(launcher, SHELL_LAUNCHER);
        }
        launcher.toFile().setExecutable(true, false);
        Files.createDirectories(output.resolve("conf/ccc"));
        Files.copy(exampleConfig, output.resolve("conf/ccc/config.yaml"), StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(output.resolve("adapters"));
        if (Files.isExecutable(execHelper)) {
            Files.copy(execHelper, output.resolve("lib/ccc-exec"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        } else {
            System.out.println("warning: " + execHelper + " was not built (no C compiler?); the image cannot drop privileges");
        }
        recordAotCache(output, exampleConfig);
        System.out.println("runtime image: " + output);
    }

    /**
     * Records an ahead-of-time cache (JDK 25, JEP 514) from a training run of the core: classes
     * loaded and linked, so the launcher starts faster. Without method profiles: with C1 only
     * (TieredStopAtLevel=1) nothing uses them, and they cost resident memory.
     */
    static void recordAotCache(Path image, Path config) throws IOException {
        Path cache = image.resolve("lib/ccc.aot");
        var training = new ProcessBuilder(image.resolve("bin/java").toString(), "-XX:AOTCacheOutput=" + cache,
                "-XX:+UnlockDiagnosticVMOptions", "-XX:-AOTRecordTraining",
                "--enable-native-access=ccc.core", "-m", "ccc.core/ccc.core.Main", "--training-run", "--config", config.toString())
                .redirectErrorStream(true);
        training.environment().put("LOG_LEVEL", "ERROR");
        Process process = training.start();
        String output = new String(process.getInputStream().readAllBytes());
        try {
            if (process.waitFor() != 0 || !Files.exists(cache)) {
                throw new IllegalStateException("the training run failed:\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        System.out.println("ahead-of-time cache: " + cache + " (" + Files.size(cache) / 1024 + " KiB)");
    }

    /** Derives, compiles and inserts a module-info.class into every jar that is only an automatic module. */
    static void addMissingDescriptors(Path modules, Path work) throws IOException {
        List<Path> automatic = new ArrayList<>();
        var explicit = new java.util.LinkedHashMap<String, ModuleDescriptor>();
        try (Stream<Path> jars = Files.list(modules)) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                ModuleReference reference = ModuleFinder.of(jar).findAll().iterator().next();
                if (reference.descriptor().isAutomatic()) {
                    automatic.add(jar);
                } else {
                    explicit.put(jar.toString(), reference.descriptor());
                }
            }
        }
        if (automatic.isEmpty()) {
            return;
        }
        // What the automatic jars may depend on: the explicit modules that do not themselves need an automatic one.
        var automaticNames = automatic.stream()
                .map(jar -> ModuleFinder.of(jar).findAll().iterator().next().descriptor().name())
                .collect(java.util.stream.Collectors.toSet());
        List<String> dependencies = explicit.entrySet().stream()
                .filter(entry -> entry.getValue().requires().stream().noneMatch(r -> automaticNames.contains(r.name())))
                .map(java.util.Map.Entry::getKey)
                .toList();
        deleteTree(work);
        Path sources = work.resolve("src");
        // The exemplar tracers of Prometheus' simpleclient are optional at run time (it catches their
        // absence), so their missing classes must not stop the derivation.
        var jdeps = new ArrayList<>(List.of("--generate-module-info", sources.toString(),
                "--ignore-missing-deps",
                "--multi-release", String.valueOf(Runtime.version().feature()),
                "--module-path", String.join(java.io.File.pathSeparator, dependencies)));
        automatic.forEach(jar -> jdeps.add(jar.toString()));
        run("jdeps", jdeps.toArray(String[]::new));
        for (Path jar : automatic) {
            ModuleDescriptor descriptor = ModuleFinder.of(jar).findAll().iterator().next().descriptor();
            String name = descriptor.name();
            Path source = findDescriptorSource(sources, name);
            Path classes = work.resolve("classes").resolve(name);
            run("javac", "--module-path", modules.toString(), "--patch-module", name + "=" + jar,
                    "-d", classes.toString(), source.toString());
            run("jar", "--update", "--file", jar.toString(), "-C", classes.toString(), "module-info.class");
            System.out.println("module descriptor added: " + name + " (" + jar.getFileName() + ")");
        }
    }

    private static Path findDescriptorSource(Path sources, String module) throws IOException {
        try (Stream<Path> files = Files.walk(sources)) {
            return files.filter(p -> p.getFileName().toString().equals("module-info.java"))
                    .filter(p -> sources.relativize(p).getName(0).toString().equals(module))
                    .findFirst()
                    .orElseThrow(() -> new IOException("jdeps generated no descriptor for " + module));
        }
    }

    private static void run(String tool, String... args) {
        ToolProvider provider = ToolProvider.findFirst(tool)
                .orElseThrow(() -> new IllegalStateException(tool + " is not available: run with a JDK"));
        var out = new StringWriter();
        int status = provider.run(new PrintWriter(out, true), new PrintWriter(out, true), args);
        if (status != 0) {
            throw new IllegalStateException(tool + " failed (" + status + "): " + String.join(" ", args) + "\n" + out);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
