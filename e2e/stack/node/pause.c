/* The pod sandbox process of the e2e node (e2e/stack/node.sh): holds the pod's namespaces,
 * reaps what is re-parented to it, and exits 0 on SIGINT or SIGTERM. Built static with musl-gcc
 * by e2e/stack/build-node.sh, because no sandbox image can be pulled from outside here. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { (void)sig; _exit(0); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop, child;
  memset(&stop, 0, sizeof stop);
  memset(&child, 0, sizeof child);
  stop.sa_handler = on_stop;
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGINT, &stop, NULL) || sigaction(SIGTERM, &stop, NULL) ||
      sigaction(SIGCHLD, &child, NULL))
    return 2;
  for (;;)
    pause();
}
