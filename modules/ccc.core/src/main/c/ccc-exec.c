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
 *
 * With the single option --await-command it is started ahead of its workload: it sets the
 * parent-death signal, starts its session, then reads its arguments (the options above, --,
 * the program and its arguments) and the workload's whole environment from descriptor 3, as
 * NUL-terminated strings: the number of arguments, the arguments, then NAME=VALUE entries,
 * at most MAX_COMMAND_MESSAGE bytes, up to the end of the pipe; then it goes on as above. An
 * end of descriptor 3 with nothing read means it is not needed: it exits 0. Its descriptor 4, if
 * open, is the core's exec-status pipe, closed by the exec: a failure before the exec is written
 * there too (the line without its "ccc-exec: "), so the core knows at once that the workload did
 * not start, and why; an end of the pipe with nothing in it means the exec happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_GROUPS 256
#define CORE_PREFIX "CCC_"
/* Must stay at least the core's bound on a command and its environment (ReadyHelper.MAX_COMMAND_MESSAGE). */
#define MAX_COMMAND_MESSAGE (4 * 1024 * 1024)
#define COMMAND_FD 3
#define STATUS_FD 4
/* The longest reason written to the status pipe; the core reads no more (ReadyHelper.MAX_REFUSAL_BYTES). */
#define MAX_REFUSAL 1024

extern char **environ;

/* The exec-status pipe of a helper that awaited its command, or -1. */
static int status_fd = -1;

/* Says why the workload is not started, on stderr and on the exec-status pipe, and exits 127. */
static void refuse(const char *format, ...) {
    char reason[MAX_REFUSAL];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    fprintf(stderr, "ccc-exec: %s\n", reason);
    if (status_fd >= 0) {
        for (size_t written = 0, length = strlen(reason); written < length;) {
            ssize_t wrote = write(status_fd, reason + written, length - written);
            if (wrote < 0 && errno == EINTR) {
                continue;
            }
            if (wrote <= 0) {
                break;
            }
            written += (size_t) wrote;
        }
    }
    exit(127);
}

static void fail(const char *what, const char *detail) {
    if (detail != NULL) {
        refuse("%s '%s': %s", what, detail, strerror(errno));
    } else {
        refuse("%s", what);
    }
}

/* The largest user or group id: one more, (uid_t) -1, means "leave unchanged" to the set*id calls. */
#define MAX_ID 4294967294ULL

/* Decimal digits only (no sign, no space), at most max. */
static unsigned long long number(const char *text, const char *option, unsigned long long max) {
    char *end = NULL;
    errno = 0;
    unsigned long long value = 0;
    if (text[0] >= '0' && text[0] <= '9') {
        value = strtoull(text, &end, 10);
    }
    if (end == NULL || errno != 0 || *end != '\0' || value > max) {
        refuse("%s expects a number from 0 to %llu, got '%s'", option, max, text);
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
        groups[count++] = (gid_t) number(item, "--groups", MAX_ID);
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

/*
 * Reads the command message from COMMAND_FD (see the header) into *argv_out (argv[0] is this
 * program) and environ. Returns the argument count, or 0 when the pipe ended with nothing in it.
 */
static int await_command(char **self, char ***argv_out) {
    /* One byte more than the bound, so that a message of exactly MAX_COMMAND_MESSAGE bytes is told from a longer one. */
    char *message = malloc(MAX_COMMAND_MESSAGE + 1);
    size_t length = 0;
    if (message == NULL) {
        fail("out of memory", NULL);
    }
    for (;;) {
        if (length > MAX_COMMAND_MESSAGE) {
            fail("command message too long", NULL);
        }
        ssize_t got = read(COMMAND_FD, message + length, MAX_COMMAND_MESSAGE + 1 - length);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            fail("cannot read", "command");
        }
        if (got == 0) {
            break;
        }
        length += (size_t) got;
    }
    close(COMMAND_FD);
    if (length == 0) {
        exit(0);
    }
    if (message[length - 1] != '\0') {
        fail("command message not terminated", NULL);
    }
    size_t strings = 0;
    for (size_t at = 0; at < length; at++) {
        strings += message[at] == '\0';
    }
    char **all = calloc(strings + 2, sizeof *all);
    if (all == NULL) {
        fail("out of memory", NULL);
    }
    size_t count = 0;
    for (size_t at = 0; at < length; at += strlen(message + at) + 1) {
        all[count++] = message + at;
    }
    long arguments = (long) number(all[0], "the command message's argument count", INT_MAX);
    if ((size_t) arguments > count - 1) {
        fail("command message shorter than its argument count", NULL);
    }
    /* all[0], the count, becomes argv[0]; the environment follows the arguments, NULL-terminated. */
    char **argv = calloc((size_t) arguments + 2, sizeof *argv);
    char **environment = calloc(count - (size_t) arguments, sizeof *environment);
    if (argv == NULL || environment == NULL) {
        fail("out of memory", NULL);
    }
    argv[0] = self[0];
    memcpy(argv + 1, all + 1, (size_t) arguments * sizeof *argv);
    memcpy(environment, all + 1 + arguments, (count - 1 - (size_t) arguments) * sizeof *environment);
    environ = environment;
    *argv_out = argv;
    return (int) arguments + 1;
}

int main(int argc, char **argv) {
    pid_t parent = getppid();
    int awaited = 0;
    if (argc == 2 && strcmp(argv[1], "--await-command") == 0) {
        /* The exec closes the status pipe: its end, with nothing written, is the core's sign that the workload runs. */
        if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) == 0) {
            status_fd = STATUS_FD;
        }
        /* Until its command comes it belongs to the core alone: it dies with it, and no signal to the core's group reaches it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
            fail("cannot set", "parent-death signal");
        }
        if (getppid() != parent) {
            return 127;
        }
        if (setsid() < 0) {
            fail("cannot start a session", "setsid");
        }
        argc = await_command(argv, &argv);
        awaited = 1;
    }
    int uid_given = 0;
    int gid_given = 0;
    uid_t uid = 0;
    gid_t gid = 0;
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
            refuse("%s needs a value", option);
        }
        char *value = argv[++i];
        if (strcmp(option, "--chdir") == 0) {
            directory = value;
        } else if (strcmp(option, "--env") == 0) {
            const char *equals = strchr(value, '=');
            if (equals == NULL || equals == value) {
                refuse("--env expects NAME=VALUE, got '%s'", value);
            }
            variables[variable_count++] = value;
        } else if (strcmp(option, "--groups") == 0) {
            group_count = parse_groups(value, groups);
        } else if (strcmp(option, "--gid") == 0) {
            gid = (gid_t) number(value, "--gid", MAX_ID);
            gid_given = 1;
        } else if (strcmp(option, "--uid") == 0) {
            uid = (uid_t) number(value, "--uid", MAX_ID);
            uid_given = 1;
        } else {
            refuse("unknown option '%s'", option);
        }
    }
    if (i >= argc) {
        fail("usage: ccc-exec [options] -- PROGRAM [ARGS...]", NULL);
    }

    /* A helper that awaited its command is its session's leader already. */
    if (new_session && !(awaited && getsid(0) == getpid()) && setsid() < 0) {
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
    if (uid_given) {
        if (!gid_given) {
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
        if (setgid(gid) < 0) {
            fail("cannot set", "gid");
        }
        if (setuid(uid) < 0) {
            fail("cannot set", "uid");
        }
        if (uid != 0 && (setuid(0) == 0 || geteuid() != uid || getegid() != gid)) {
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
