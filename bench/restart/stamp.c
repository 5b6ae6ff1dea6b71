/* bench/restart/stamp.c — the benchmark's child process.
 *
 *   stamp FILE   appends CLOCK_REALTIME in nanoseconds (one line) to FILE as the very first thing
 *                after exec, then sleeps until a signal ends it (default actions: SIGTERM kills).
 *
 * Built static by bench/bench-restart.sh so no dynamic loading sits between exec and the stamp.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (argc != 2) {
        fprintf(stderr, "usage: stamp FILE\n");
        return 2;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    for (;;)
        pause();
}
