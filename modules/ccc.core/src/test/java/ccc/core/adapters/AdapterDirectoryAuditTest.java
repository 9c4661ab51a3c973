package ccc.core.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ccc.core.process.PrivilegeDrop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Code the core may run as root is loaded only from where no one but root and the core's user can change it. */
class AdapterDirectoryAuditTest {

    @TempDir
    Path work;

    private Path adapters;

    @BeforeEach
    void createAdaptersDirectory() throws Exception {
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        adapters = Files.createDirectory(work.resolve("adapters"));
        Files.setPosixFilePermissions(adapters, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Path file(Path directory, String name, String mode) throws Exception {
        Path file = Files.writeString(directory.resolve(name), "not even a jar");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Test
    void aDirectoryAndJarOnlyTheCoresUserCanChangeAreTrustedUnderAStickyTemporaryDirectory() throws Exception {
        assertEquals(Optional.empty(), AdapterCatalog.untrusted(adapters));
        assertEquals(Optional.empty(), AdapterCatalog.untrusted(file(adapters, "a.jar", "rw-r--r--")));
    }

    @Test
    void aDirectoryOrJarOthersCanWriteIsRefused() throws Exception {
        assertEquals(Optional.of("'" + adapters.resolve("b.jar") + "' is writable by its group or others (mode 666)"),
                AdapterCatalog.untrusted(file(adapters, "b.jar", "rw-rw-rw-")));
        Files.setPosixFilePermissions(adapters, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertEquals(Optional.of("'" + adapters + "' is writable by its group or others (mode 775)"), AdapterCatalog.untrusted(adapters));
    }

    @Test
    void aDirectoryUnderOneOthersCanWriteIsRefusedAndStickyCountsOnlyAbove() throws Exception {
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertEquals(Optional.of("'" + work + "' is writable by its group or others (mode 777)"), AdapterCatalog.untrusted(adapters));
        Files.setAttribute(work, "unix:mode", 01777);
        assertEquals(Optional.empty(), AdapterCatalog.untrusted(adapters), "no one else can replace the adapters directory in a sticky one");
        Files.setAttribute(adapters, "unix:mode", 01777);
        assertEquals(Optional.of("'" + adapters + "' is writable by its group or others (mode 1777)"), AdapterCatalog.untrusted(adapters),
                "but anyone could add a jar to a sticky adapters directory");
    }

    @Test
    void aLinkIsCheckedWhereItLeads() throws Exception {
        Path elsewhere = Files.createDirectory(work.resolve("elsewhere"));
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path linked = Files.createSymbolicLink(adapters.resolve("c.jar"), file(elsewhere, "c.jar", "rw-r--r--"));
        assertEquals(Optional.of("'" + elsewhere + "' is writable by its group or others (mode 777)"), AdapterCatalog.untrusted(linked));
    }

    @Test
    void aJarOrDirectoryOwnedByAnotherUserIsRefused() throws Exception {
        Assumptions.assumeTrue(PrivilegeDrop.currentUid() == 0, "skipped: handing a file to another user needs root");
        Path jar = file(adapters, "d.jar", "rw-r--r--");
        Files.setAttribute(jar, "unix:uid", 54321);
        assertEquals(Optional.of("'" + jar + "' is owned by uid 54321, neither root nor the core's user"), AdapterCatalog.untrusted(jar));
        Files.setAttribute(adapters, "unix:uid", 54321);
        assertTrue(AdapterCatalog.untrusted(adapters).orElseThrow().startsWith("'" + adapters + "' is owned by uid 54321"));
    }

    @Test
    void aRefusedDirectoryLoadsNothingAndTheMissingAdapterSaysWhy() throws Exception {
        Files.setPosixFilePermissions(adapters, PosixFilePermissions.fromString("rwxrwxrwx"));
        var catalog = AdapterCatalog.load(Optional.of(adapters));
        var missing = assertThrows(AdapterCatalog.AdapterException.class, () -> catalog.create("com.example.Sleepy"));
        assertTrue(missing.getMessage().endsWith("(adapters directory: " + adapters + ", refused: '" + adapters
                + "' is writable by its group or others (mode 777))"), missing.getMessage());
    }
}
