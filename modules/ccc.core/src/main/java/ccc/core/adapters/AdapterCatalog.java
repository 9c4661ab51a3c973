package ccc.core.adapters;

import ccc.api.Adapter;
import ccc.core.log.Log;
import ccc.core.process.PrivilegeDrop;
import java.lang.module.Configuration;
import java.lang.module.FindException;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.module.ResolutionException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The adapters this core can bind: those linked into the runtime image (the boot layer) and
 * the modular jars of an adapters directory, loaded into a child module layer so that an
 * adapter ships without relinking the core.
 *
 * <p>The core runs that code as root, so, as sshd's StrictModes does, it refuses a directory or
 * jar that anyone but root and the core's own user could change: one owned by another user or
 * writable by its group or others, or under such a directory (a world-writable directory with
 * the sticky bit, such as {@code /tmp}, is fine above it: no one else can replace what root
 * owns there). Links are checked where they are and where they lead.
 */
public final class AdapterCatalog {

    private static final Log LOG = Log.named("adapters");
    private static final int GROUP_OR_OTHERS_WRITE = 0022;
    private static final int STICKY = 01000;

    private final ModuleLayer layer;
    private final Optional<Path> directory;
    private final Optional<String> refusal;

    private AdapterCatalog(ModuleLayer layer, Optional<Path> directory, Optional<String> refusal) {
        this.layer = layer;
        this.directory = directory;
        this.refusal = refusal;
    }

    /**
     * The adapters of the boot layer and, when {@code directory} exists, of its modular jars.
     *
     * @throws AdapterException if a jar in the directory is not a usable module
     */
    public static AdapterCatalog load(Optional<Path> directory) throws AdapterException {
        ModuleLayer boot = ModuleLayer.boot();
        if (directory.isEmpty() || !Files.isDirectory(directory.get())) {
            return new AdapterCatalog(boot, Optional.empty(), Optional.empty());
        }
        Path dir = directory.get();
        Optional<String> untrusted = untrusted(dir);
        if (untrusted.isPresent()) {
            LOG.error("adapters directory refused: the core would run its code as root", "directory", dir, "reason", untrusted.get());
            return new AdapterCatalog(boot, directory, untrusted);
        }
        try {
            ModuleFinder finder = ModuleFinder.of(usableJars(dir).toArray(Path[]::new));
            Set<String> roots = finder.findAll().stream()
                    .map(ModuleReference::descriptor)
                    .map(descriptor -> descriptor.name())
                    .filter(name -> boot.findModule(name).isEmpty())
                    .collect(Collectors.toCollection(TreeSet::new));
            if (roots.isEmpty()) {
                return new AdapterCatalog(boot, directory, Optional.empty());
            }
            Configuration configuration = boot.configuration().resolveAndBind(finder, ModuleFinder.of(), roots);
            ModuleLayer child = boot.defineModulesWithOneLoader(configuration, ClassLoader.getSystemClassLoader());
            LOG.info("adapter modules loaded", "directory", dir, "modules", String.join(",", roots));
            return new AdapterCatalog(child, directory, Optional.empty());
        } catch (FindException | ResolutionException | LayerInstantiationException e) {
            throw new AdapterException("adapters directory " + dir + ": " + Log.describe(e));
        }
    }

    /**
     * The jars of the directory that are modules: one that is not (corrupt, or not a jar at
     * all) is logged and left out, so it cannot keep the others from loading.
     */
    private static List<Path> usableJars(Path dir) throws AdapterException {
        var usable = new java.util.ArrayList<Path>();
        try (var entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                Optional<String> untrusted = untrusted(entry);
                if (untrusted.isPresent()) {
                    LOG.error("adapter jar refused: the core would run its code as root", "jar", entry, "reason", untrusted.get());
                    continue;
                }
                try {
                    ModuleFinder.of(entry).findAll();
                    usable.add(entry);
                } catch (FindException e) {
                    LOG.error("adapter jar skipped: it is not a usable module", "jar", entry, "reason", Log.describe(e));
                }
            }
        } catch (java.io.IOException e) {
            throw new AdapterException("adapters directory " + dir + ": cannot be listed: " + e.getMessage());
        }
        return usable;
    }

    /**
     * Why code at {@code path} is not to be trusted, if it is not: checked along the path as
     * given and along the path it really leads to.
     */
    static Optional<String> untrusted(Path path) {
        int coreUid = PrivilegeDrop.currentUid();
        try {
            Optional<String> given = untrustedAlong(path.toAbsolutePath().normalize(), coreUid);
            return given.isPresent() ? given : untrustedAlong(path.toRealPath(), coreUid);
        } catch (java.io.IOException e) {
            return Optional.of("'" + path + "' cannot be examined: " + e.getMessage());
        }
    }

    private static Optional<String> untrustedAlong(Path path, int coreUid) throws java.io.IOException {
        for (Path current = path; current != null; current = current.getParent()) {
            if (Files.isSymbolicLink(current)) {
                continue; // a link's own owner and mode mean nothing; who may replace it is its directory's question
            }
            var unix = Files.readAttributes(current, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            int uid = (Integer) unix.get("uid");
            int mode = (Integer) unix.get("mode");
            if (uid != 0 && uid != coreUid) {
                return Optional.of("'" + current + "' is owned by uid " + uid + ", neither root nor the core's user");
            }
            boolean stickyAbove = current != path && (mode & STICKY) != 0;
            if ((mode & GROUP_OR_OTHERS_WRITE) != 0 && !stickyAbove) {
                return Optional.of("'" + current + "' is writable by its group or others (mode " + Integer.toOctalString(mode & 07777) + ")");
            }
        }
        return Optional.empty();
    }

    /** The provider class names of every adapter found, sorted. */
    public List<String> names() {
        return ServiceLoader.load(layer, Adapter.class).stream()
                .map(provider -> provider.type().getName())
                .sorted()
                .distinct()
                .toList();
    }

    /**
     * Creates the adapter whose provider class is {@code className}.
     *
     * @throws AdapterException if none is found (the message lists those that are) or it cannot be created
     */
    public Adapter create(String className) throws AdapterException {
        var provider = ServiceLoader.load(layer, Adapter.class).stream()
                .filter(candidate -> candidate.type().getName().equals(className))
                .findFirst()
                .orElseThrow(() -> new AdapterException("adapter.class: no adapter '" + className + "' found; available: "
                        + (names().isEmpty() ? "none" : String.join(", ", names()))
                        + directory.map(dir -> " (adapters directory: " + dir + refusal.map(reason -> ", refused: " + reason).orElse("") + ")")
                                .orElse(" (no adapters directory)")));
        try {
            return provider.get();
        } catch (java.util.ServiceConfigurationError | RuntimeException e) {
            throw new AdapterException("adapter.class: '" + className + "' could not be created: " + Log.describe(e));
        }
    }

    /** An adapter that cannot be found or created. */
    public static final class AdapterException extends Exception {
        private static final long serialVersionUID = 1L;

        public AdapterException(String message) {
            super(message);
        }
    }
}
