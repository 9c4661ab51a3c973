/*
 * ccc-exec: starts a workload for the Container Control Core.
 *
 * The JVM cannot change the credentials of a child process it spawns, so the core starts this
 * small static program in its place. It reads all its options first, then does what it is
 * asked in this order, whatever the order of the options:
 *
 *   --setsid            start a new session (and process group), so the core can signal
 *                       the workload's whole group at once
 *   --env NAME=VALUE    set an environment variable (repeatable)
 *   --drop-core-env     remove every CCC_* variable (the core's own, its API token among them)
 *                       and keep the rest of the environment
 *   --groups G,G,...    supplementary groups (numeric), then
 *   --gid G, --uid U    the primary group and user (numeric); capabilities are dropped from
 *                       the bounding set first, so none can come back after the switch
 *   --die-with-parent   after the switch (which would clear it), ask the kernel for SIGKILL when
 *                       the parent ends, then check that the parent seen at start is still
 *                       there, so a core killed meanwhile leaves no workload behind
 *   --no-new-privs      set no_new_privs, so setuid binaries cannot raise privileges again
 *   --chdir DIR         change the working directory, as the workload's user: root never
 *                       enters a directory through links the workload could have placed, and
 *                       the workload gets no directory it could not enter itself
 *   -- PROGRAM ARGS...  then exec PROGRAM (looked up on PATH)
 *
 * It never runs a shell. On any failure it prints one line to stderr and exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_GROUPS 256
#define CORE_PREFIX "CCC_"

extern char **environ;

static void fail(const char *what, const char *detail) {
    if (detail != NULL) {
        fprintf(stderr, "ccc-exec: %s '%s': %s\n", what, detail, strerror(errno));
    } else {
        fprintf(stderr, "ccc-exec: %s\n", what);
    }
    exit(127);
}

static long number(const char *text, const char *option) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > INT_MAX) {
        fprintf(stderr, "ccc-exec: %s expects a non-negative number, got '%s'\n", option, text);
        exit(127);
    }
    return value;
}

static int parse_groups(const char *text, gid_t *groups) {
    int count = 0;
    char *copy = strdup(text);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (count == MAX_GROUPS) {
            fail("too many supplementary groups", NULL);
        }
        groups[count++] = (gid_t) number(item, "--groups");
    }
    free(copy);
    return count;
}

/* Removes every CCC_* variable; unsetenv changes environ, so the scan starts over after each. */
static void drop_core_environment(void) {
    for (char **entry = environ; entry != NULL && *entry != NULL;) {
        if (strncmp(*entry, CORE_PREFIX, strlen(CORE_PREFIX)) != 0) {
            entry++;
            continue;
        }
        char *name = strndup(*entry, strcspn(*entry, "="));
        if (name == NULL) {
            fail("out of memory", NULL);
        }
        if (unsetenv(name) != 0) {
            fail("cannot unset", name);
        }
        free(name);
        entry = environ;
    }
}

int main(int argc, char **argv) {
    pid_t parent = getppid();
    long uid = -1;
    long gid = -1;
    gid_t groups[MAX_GROUPS];
    int group_count = -1;
    int new_session = 0;
    int drop_core_env = 0;
    int die_with_parent = 0;
    int no_new_privs = 0;
    const char *directory = NULL;
    char **variables = calloc((size_t) argc, sizeof *variables);
    int variable_count = 0;
    int i = 1;

    if (variables == NULL) {
        fail("out of memory", NULL);
    }
    for (; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(option, "--setsid") == 0) {
            new_session = 1;
            continue;
        }
        if (strcmp(option, "--drop-core-env") == 0) {
            drop_core_env = 1;
            continue;
        }
        if (strcmp(option, "--die-with-parent") == 0) {
            die_with_parent = 1;
            continue;
        }
        if (strcmp(option, "--no-new-privs") == 0) {
            no_new_privs = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ccc-exec: %s needs a value\n", option);
            return 127;
        }
        char *value = argv[++i];
        if (strcmp(option, "--chdir") == 0) {
            directory = value;
        } else if (strcmp(option, "--env") == 0) {
            const char *equals = strchr(value, '=');
            if (equals == NULL || equals == value) {
                fprintf(stderr, "ccc-exec: --env expects NAME=VALUE, got '%s'\n", value);
                return 127;
            }
            variables[variable_count++] = value;
        } else if (strcmp(option, "--groups") == 0) {
            group_count = parse_groups(value, groups);
        } else if (strcmp(option, "--gid") == 0) {
            gid = number(value, "--gid");
        } else if (strcmp(option, "--uid") == 0) {
            uid = number(value, "--uid");
        } else {
            fprintf(stderr, "ccc-exec: unknown option '%s'\n", option);
            return 127;
        }
    }
    if (i >= argc) {
        fail("usage: ccc-exec [options] -- PROGRAM [ARGS...]", NULL);
    }

    if (new_session && setsid() < 0) {
        fail("cannot start a session", "setsid");
    }
    for (int v = 0; v < variable_count; v++) {
        if (putenv(variables[v]) != 0) {
            fail("cannot set", variables[v]);
        }
    }
    if (drop_core_env) {
        drop_core_environment();
    }
    if (uid >= 0) {
        if (gid < 0) {
            fail("--uid needs --gid", NULL);
        }
        for (int cap = 0; cap <= 63; cap++) {
            /* EINVAL marks the end of the capabilities this kernel knows. */
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
                fail("cannot drop capability", "bounding set");
            }
        }
        if (setgroups(group_count < 0 ? 0 : (size_t) group_count, groups) < 0) {
            fail("cannot set", "supplementary groups");
        }
        if (setgid((gid_t) gid) < 0) {
            fail("cannot set", "gid");
        }
        if (setuid((uid_t) uid) < 0) {
            fail("cannot set", "uid");
        }
        if (uid != 0 && (setuid(0) == 0 || geteuid() != (uid_t) uid || getegid() != (gid_t) gid)) {
            fail("privileges were not dropped", NULL);
        }
    }
    if (die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
            fail("cannot set", "parent-death signal");
        }
        if (getppid() != parent) {
            fail("the core ended before the workload started", NULL);
        }
    }
    if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        fail("cannot set", "no_new_privs");
    }
    if (directory != NULL && chdir(directory) < 0) {
        fail("cannot change directory to", directory);
    }
    execvp(argv[i], &argv[i]);
    fail("cannot run", argv[i]);
    return 127;
}
