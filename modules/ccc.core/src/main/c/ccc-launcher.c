/*
 * ccc: the runtime image's launcher (bin/ccc). It replaces itself with the image's JVM:
 *
 *   <image>/bin/java [-XX:AOTCache=<image>/lib/ccc.aot] --enable-native-access=ccc.core
 *                    <the words of CCC_JAVA_OPTIONS> -m ccc.core/ccc.core.Main <its own arguments>
 *
 * The AOT cache option is given only when lib/ccc.aot exists. exec, not fork: the JVM keeps this
 * process's id, so signals sent to it (SIGTERM from the container engine, say) reach the core.
 * It is a static program rather than a shell script so that it runs in an image with no shell
 * (kubectl exec POD -- /opt/ccc/bin/ccc ctl status).
 *
 * <image> is the directory above the one this program is in, found through /proc/self/exe (so a
 * symbolic link to it elsewhere still finds its image), else through argv[0].
 *
 * CCC_JAVA_OPTIONS is split at blanks (spaces, tabs, new lines), as the shell split it; there is
 * no quoting, and no other expansion. On any failure it prints one line to stderr and exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Variables the JVM starts with, unless the environment sets them already: the one place for
 * them. For example {"MALLOC_ARENA_MAX", "2"}. The list ends with {NULL, NULL}.
 */
static const struct {
    const char *name;
    const char *value;
} JVM_ENVIRONMENT[] = {
    {NULL, NULL},
};

static const char *const MAIN_MODULE = "ccc.core/ccc.core.Main";

static void fail(const char *what, const char *detail) {
    if (detail != NULL) {
        fprintf(stderr, "ccc: %s '%s': %s\n", what, detail, strerror(errno));
    } else {
        fprintf(stderr, "ccc: %s\n", what);
    }
    exit(127);
}

static char *joined(const char *directory, const char *name) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", directory, name) < 0) {
        fail("out of memory", NULL);
    }
    return path;
}

/* The image's directory: the parent of the directory holding this program. */
static char *image_directory(const char *argv0) {
    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length > 0) {
        self[length] = '\0';
    } else if (realpath(argv0, self) == NULL) {
        fail("cannot find the launcher's own path from", argv0);
    }
    char *slash = strrchr(self, '/');
    if (slash == NULL) {
        fail("the launcher's path has no directory:", self);
    }
    *slash = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL) {
        fail("the launcher is not in the bin directory of an image:", self);
    }
    *slash = '\0';
    char *image = strdup(self[0] == '\0' ? "/" : self);
    if (image == NULL) {
        fail("out of memory", NULL);
    }
    return image;
}

int main(int argc, char **argv) {
    for (size_t i = 0; JVM_ENVIRONMENT[i].name != NULL; i++) {
        if (setenv(JVM_ENVIRONMENT[i].name, JVM_ENVIRONMENT[i].value, 0) != 0) {
            fail("cannot set", JVM_ENVIRONMENT[i].name);
        }
    }

    char *image = image_directory(argc > 0 ? argv[0] : "ccc");
    char *java = joined(image, "bin/java");
    char *cache = joined(image, "lib/ccc.aot");

    char *options = NULL;
    const char *from_environment = getenv("CCC_JAVA_OPTIONS");
    size_t words = 0;
    if (from_environment != NULL) {
        options = strdup(from_environment);
        if (options == NULL) {
            fail("out of memory", NULL);
        }
        /* At most one word for every two characters, and one more. */
        words = strlen(options) / 2 + 1;
    }

    /* java, the cache, native access, the options, -m, the module, the arguments, NULL. */
    char **command = calloc(words + (size_t) argc + 6, sizeof *command);
    if (command == NULL) {
        fail("out of memory", NULL);
    }
    size_t next = 0;
    command[next++] = java;
    if (access(cache, R_OK) == 0) {
        if (asprintf(&command[next++], "-XX:AOTCache=%s", cache) < 0) {
            fail("out of memory", NULL);
        }
    }
    command[next++] = "--enable-native-access=ccc.core";
    if (options != NULL) {
        char *save = NULL;
        for (char *word = strtok_r(options, " \t\n", &save); word != NULL; word = strtok_r(NULL, " \t\n", &save)) {
            command[next++] = word;
        }
    }
    command[next++] = "-m";
    command[next++] = (char *) MAIN_MODULE;
    for (int i = 1; i < argc; i++) {
        command[next++] = argv[i];
    }
    command[next] = NULL;

    execv(java, command);
    fail("cannot start the JVM", java);
    return 127;
}
