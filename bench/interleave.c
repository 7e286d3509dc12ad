/* bench/interleave.c: times short commands by running them in turn, round after round.
 *
 *     interleave RUNS cmd1 [args] :: cmd2 [args] :: ...
 *
 * On a shared machine the cost of a process start drifts by tenths of a millisecond within
 * seconds; timing one command's runs after another's (as hyperfine does) folds that drift
 * into the differences between them. Here every round runs every command once, in rotated
 * order, so all see the same machine. Each command's stdout and stderr go to /dev/null.
 * Prints one line per command: median wall time and mean CPU time (user + system, the
 * command and the children it waited for), in milliseconds. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ms(struct timeval t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

/* Runs cmd once; returns its wall time and adds its CPU time to *cpu (both in ms). */
static double run(char **cmd, posix_spawn_file_actions_t *quiet, double *cpu) {
    struct timespec a, b;
    struct rusage ru;
    pid_t pid;
    int status;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (posix_spawn(&pid, cmd[0], quiet, 0, cmd, environ) != 0) {
        fprintf(stderr, "interleave: cannot start %s\n", cmd[0]);
        exit(1);
    }
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("interleave: wait4");
            exit(1);
        }
    clock_gettime(CLOCK_MONOTONIC, &b);
    *cpu += ms(ru.ru_utime) + ms(ru.ru_stime);
    return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: interleave RUNS cmd [args] :: cmd [args] ...\n");
        return 2;
    }
    int runs = atoi(argv[1]), n = 0;
    if (runs < 1) {
        fprintf(stderr, "interleave: RUNS must be at least 1\n");
        return 2;
    }
    char **cmds[64];
    cmds[n++] = argv + 2;
    for (int i = 2; i < argc && n < 64; i++)
        if (strcmp(argv[i], "::") == 0) {
            argv[i] = NULL;
            cmds[n++] = argv + i + 1;
        }
    double *wall = calloc((size_t)runs * n, sizeof *wall), cpu[64] = {0}, ignored = 0;
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    for (int w = 0; w < runs / 10; w++) /* warm-up: page cache, CPU frequency */
        for (int c = 0; c < n; c++) run(cmds[c], &quiet, &ignored);
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < n; k++) {
            int c = (r + k) % n;
            wall[c * runs + r] = run(cmds[c], &quiet, &cpu[c]);
        }
    for (int c = 0; c < n; c++) {
        qsort(wall + c * runs, runs, sizeof *wall, by_value);
        printf("%.4f %.4f\n", wall[c * runs + runs / 2], cpu[c] / runs);
    }
    return 0;
}
