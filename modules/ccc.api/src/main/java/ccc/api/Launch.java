package ccc.api;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A command for the core to start with {@link AdapterContext#launch}: an argv list (never run
 * through a shell), environment variables and a working directory.
 *
 * @param command the program and its arguments
 * @param environment variables added to the workload's base environment (see
 *        {@link AdapterContext#launch}); none may start with {@code CCC_}
 * @param workingDirectory where the command runs, entered as the workload's user; the core's
 *        working directory when empty
 * @since 0.1
 */
public record Launch(List<String> command, Map<String, String> environment, Optional<Path> workingDirectory) {

    public Launch {
        command = List.copyOf(command);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("a launch needs at least a program name");
        }
        environment = Map.copyOf(environment);
        Objects.requireNonNull(workingDirectory, "workingDirectory");
    }

    /** A command with the base environment only, in the core's working directory. */
    public static Launch of(List<String> command) {
        return new Launch(command, Map.of(), Optional.empty());
    }

    /** A command with the base environment only, in the core's working directory. */
    public static Launch of(String... command) {
        return of(List.of(command));
    }

    /** This launch with one more environment variable. */
    public Launch withEnvironment(String name, String value) {
        var merged = new LinkedHashMap<>(environment);
        merged.put(name, value);
        return new Launch(command, merged, workingDirectory);
    }

    /** This launch in {@code directory}. */
    public Launch in(Path directory) {
        return new Launch(command, environment, Optional.of(directory));
    }
}
