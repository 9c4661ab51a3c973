package ccc.core.traffic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ccc.api.TrafficShape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaper tells its listener of every change of the shape in force, and of nothing else. The
 * kernel's side is not the point here: {@code tc} is a script that records its arguments and
 * refuses a rate of 666 Mbit/s (TrafficControlIT shapes for real).
 */
class ShaperChangesTest {

    @TempDir
    Path work;

    private Shaper shaper(List<Optional<TrafficShape>> told) throws Exception {
        Path tc = work.resolve("tc");
        Files.writeString(tc, "#!/bin/sh\necho \"$@\" >> " + work.resolve("calls") + "\ncase \"$*\" in *666000000bit*) echo refused >&2; exit 2;; esac\n");
        Files.setPosixFilePermissions(tc, PosixFilePermissions.fromString("rwxr-xr-x"));
        var shaper = new Shaper("eth-test", true, Optional.of(tc));
        shaper.onChange(told::add);
        return shaper;
    }

    @Test
    void everyChangeOfTheShapeInForceIsToldOnce() throws Exception {
        var told = new CopyOnWriteArrayList<Optional<TrafficShape>>();
        Shaper shaper = shaper(told);
        var eight = new TrafficShape(8, 0, 0, 0);
        shaper.shape(eight);
        shaper.exemptSourcePorts(java.util.Set.of(8080));
        shaper.shape(eight);
        var slower = new TrafficShape(2, 0, 0, 0);
        shaper.shape(slower);
        shaper.shape(new TrafficShape(0, 0, 0, 0));
        shaper.shape(eight);
        shaper.clear();
        shaper.clear();
        assertEquals(List.of(Optional.of(eight), Optional.of(slower), Optional.empty(), Optional.of(eight), Optional.empty()), told,
                "applying the same shape again (new exempt ports, say) is no change");
        assertEquals(Optional.empty(), shaper.applied());
    }

    @Test
    void aShapeTcRefusesLeavesNoneInForceAndSaysSo() throws Exception {
        var told = new CopyOnWriteArrayList<Optional<TrafficShape>>();
        Shaper shaper = shaper(told);
        var eight = new TrafficShape(8, 0, 0, 0);
        shaper.shape(eight);
        assertThrows(IllegalStateException.class, () -> shaper.shape(new TrafficShape(666, 0, 0, 0)));
        assertEquals(List.of(Optional.of(eight), Optional.empty()), told);
    }
}
