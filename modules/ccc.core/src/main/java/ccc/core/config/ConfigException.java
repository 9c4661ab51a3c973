package ccc.core.config;

/** An invalid configuration: the message names the key path and the problem, on one line. */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    /** A problem at a key path: {@code traffic_control.default_bandwidth_mbps: expected a positive number}. */
    public static ConfigException at(String path, String problem) {
        return new ConfigException(path + ": " + problem);
    }
}
