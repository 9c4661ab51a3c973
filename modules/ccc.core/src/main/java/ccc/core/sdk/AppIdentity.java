package ccc.core.sdk;

import ccc.core.config.CoreConfig;

/**
 * How the app names itself to Showrunner: {@code app_info}'s labels and the appspec's name.
 *
 * @param name {@code showrunner_sdk.app_name}, else the adapter's name
 * @param version {@code showrunner_sdk.app_version}, else the core's version
 */
public record AppIdentity(String name, String version) {

    /** The identity {@code config} gives, with the adapter's name and the core's version as defaults. */
    public static AppIdentity of(CoreConfig.ShowrunnerSdkSection config, String adapterName, String coreVersion) {
        return new AppIdentity(config.appName().orElse(adapterName), config.appVersion().orElse(coreVersion));
    }
}
