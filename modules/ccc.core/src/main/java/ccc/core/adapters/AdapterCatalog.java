package ccc.core.adapters;

import ccc.api.Adapter;
import ccc.core.log.Log;
import ccc.core.process.PrivilegeDrop;
import java.lang.module.Configuration;
import java.lang.module.FindException;
import java.lang.module.ModuleDescriptor;
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
 *
 * <p>A jar is also left out, with a log line saying why, when its module is already in the
 * runtime image (the image's copy wins) or when it was compiled against a {@code ccc.api} this
 * core cannot run ({@link #compatibleApi}).
 */
public final class AdapterCatalog {

    private static final Log LOG = Log.named("adapters");
    private static final String API_MODULE = "ccc.api";
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
            ModuleFinder finder = ModuleFinder.of(usableJars(dir, boot).toArray(Path[]::new));
            Set<String> roots = finder.findAll().stream()
                    .map(ModuleReference::descriptor)
                    .map(descriptor -> descriptor.name())
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
     * The jars of the directory the core can load: one that is not a module (corrupt, or not a
     * jar at all), whose module the image already has, or that needs another {@code ccc.api} is
     * logged and left out, so it cannot keep the others from loading.
     */
    private static List<Path> usableJars(Path dir, ModuleLayer boot) throws AdapterException {
        var usable = new java.util.ArrayList<Path>();
        try (var entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                Optional<String> untrusted = untrusted(entry);
                if (untrusted.isPresent()) {
                    LOG.error("adapter jar refused: the core would run its code as root", "jar", entry, "reason", untrusted.get());
                    continue;
                }
                try {
                    Optional<String> unusable = unusable(ModuleFinder.of(entry).findAll(), boot);
                    if (unusable.isPresent()) {
                        LOG.error("adapter jar skipped", "jar", entry, "reason", unusable.get());
                    } else {
                        usable.add(entry);
                    }
                } catch (FindException e) {
                    LOG.error("adapter jar skipped: it is not a usable module", "jar", entry, "reason", Log.describe(e));
                }
            }
        } catch (java.io.IOException e) {
            throw new AdapterException("adapters directory " + dir + ": cannot be listed: " + e.getMessage());
        }
        return usable;
    }

    private static Optional<String> unusable(Set<ModuleReference> modules, ModuleLayer boot) {
        for (ModuleReference module : modules) {
            var descriptor = module.descriptor();
            if (boot.findModule(descriptor.name()).isPresent()) {
                return Optional.of("its module " + descriptor.toNameAndVersion() + " is already in the runtime image, whose copy is used");
            }
            Optional<String> needs = descriptor.requires().stream()
                    .filter(requires -> requires.name().equals(API_MODULE))
                    .findFirst()
                    .flatMap(ModuleDescriptor.Requires::rawCompiledVersion);
            String running = Adapter.class.getModule().getDescriptor().rawVersion().orElse("");
            if (needs.isPresent() && !running.isEmpty() && !compatibleApi(needs.get(), running)) {
                return Optional.of("it was compiled against ccc.api " + needs.get() + " and this core has ccc.api " + running
                        + "; rebuild it against " + running);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether an adapter compiled against {@code ccc.api} version {@code compiled} runs on this
     * core's {@code running}: the same major version, and a minor version no newer than the
     * running one (an adapter may use what that minor version added). While the major version
     * is 0, every minor version may change the contract, so the minor versions must match.
     */
    static boolean compatibleApi(String compiled, String running) {
        int[] needed = majorMinor(compiled);
        int[] have = majorMinor(running);
        if (needed[0] != have[0]) {
            return false;
        }
        return needed[0] == 0 ? needed[1] == have[1] : needed[1] <= have[1];
    }

    private static int[] majorMinor(String version) {
        String[] parts = version.split("[.+-]", -1);
        return new int[] {leadingNumber(parts, 0), leadingNumber(parts, 1)};
    }

    private static int leadingNumber(String[] parts, int index) {
        if (index >= parts.length || parts[index].isEmpty() || !parts[index].chars().allMatch(Character::isDigit)) {
            return 0;
        }
        return Integer.parseInt(parts[index]);
    }

    /**
     * Why code at {@code path} is not to be trusted, if it is not: checked along the path as
     * given and along the path it really leads to.
     */
    static Optional<String> untrusted(Path path) {
        long coreUid = PrivilegeDrop.currentUid();
        try {
            Optional<String> given = untrustedAlong(path.toAbsolutePath().normalize(), coreUid);
            return given.isPresent() ? given : untrustedAlong(path.toRealPath(), coreUid);
        } catch (java.io.IOException e) {
            return Optional.of("'" + path + "' cannot be examined: " + e.getMessage());
        }
    }

    private static Optional<String> untrustedAlong(Path path, long coreUid) throws java.io.IOException {
        for (Path current = path; current != null; current = current.getParent()) {
            if (Files.isSymbolicLink(current)) {
                continue; // a link's own owner and mode mean nothing; who may replace it is its directory's question
            }
            var unix = Files.readAttributes(current, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            // The JDK gives the kernel's unsigned id as an int's bits.
            long uid = Integer.toUnsignedLong((Integer) unix.get("uid"));
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
