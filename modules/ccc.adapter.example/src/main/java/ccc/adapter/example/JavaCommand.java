package ccc.adapter.example;

import java.util.ArrayList;
import java.util.List;

/** The command that runs a main class of this module with the Java that runs the core (the runtime image's own). */
final class JavaCommand {

    private JavaCommand() {
    }

    static List<String> of(Class<?> mainClass, String... args) {
        var command = new ArrayList<String>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        String modulePath = System.getProperty("jdk.module.path");
        if (modulePath != null) {
            command.addAll(List.of("--module-path", modulePath));
        }
        // A small workload: a small heap, one collector thread, a quick start.
        command.addAll(List.of("-Xmx32m", "-Xss256k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.addAll(List.of("-m", mainClass.getModule().getName() + "/" + mainClass.getName()));
        command.addAll(List.of(args));
        return command;
    }
}
