/* The least any supervisor can cost: a static binary that spawns its arguments and waits.
 * bench/init.sh times it beside `alp init` and tini to show what one extra process costs
 * on the machine at hand, before alp does anything of its own. */
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
    pid_t pid;
    int status;
    if (argc < 2 || posix_spawnp(&pid, argv[1], 0, 0, argv + 1, environ) != 0)
        return 127;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
