package ccc.core.adapters;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which ccc.api an adapter may have been compiled against, for this core to run it. */
class AdapterApiVersionTest {

    @Test
    void theSameVersionIsCompatible() {
        assertTrue(AdapterCatalog.compatibleApi("0.1.0-SNAPSHOT", "0.1.0-SNAPSHOT"));
        assertTrue(AdapterCatalog.compatibleApi("0.1.0", "0.1.3"), "patch releases never change the contract");
    }

    @Test
    void beforeOnePointZeroEveryMinorVersionMayChangeTheContract() {
        assertFalse(AdapterCatalog.compatibleApi("0.1.0", "0.2.0"));
        assertFalse(AdapterCatalog.compatibleApi("0.2.0", "0.1.0"));
    }

    @Test
    void fromOnePointZeroAnOlderMinorVersionRunsAndANewerOneDoesNot() {
        assertTrue(AdapterCatalog.compatibleApi("1.2", "1.4.1"));
        assertFalse(AdapterCatalog.compatibleApi("1.5", "1.4.1"), "the adapter may call what 1.5 added");
        assertFalse(AdapterCatalog.compatibleApi("2.0", "1.4"));
        assertFalse(AdapterCatalog.compatibleApi("1.0", "2.0"));
    }
}
