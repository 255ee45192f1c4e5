/*
 * nsnet-exec NETNS_FD COMMAND [ARGS...]
 *
 * Joins the network namespace open on NETNS_FD, then executes COMMAND. It is
 * what NetNamespace.spawn() starts, so the namespace switch happens in the
 * child process and never in a thread of the Node process. Like `ip netns
 * exec`, it remounts /sys in a private mount namespace so that
 * /sys/class/net lists the namespace's interfaces (best effort).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static void remountSys(void) {
  if (unshare(CLONE_NEWNS) < 0) return;
  if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0) return;
  if (umount2("/sys", MNT_DETACH) < 0) return;
  mount("sysfs", "/sys", "sysfs", 0, NULL);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: nsnet-exec NETNS_FD COMMAND [ARGS...]\n");
    return 125;
  }
  char* end;
  long fd = strtol(argv[1], &end, 10);
  if (*end != '\0' || fd < 0) {
    fprintf(stderr, "nsnet-exec: invalid namespace fd: %s\n", argv[1]);
    return 125;
  }
  if (setns((int)fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "nsnet-exec: setns: %s\n", strerror(errno));
    return 125;
  }
  close((int)fd);
  remountSys();
  execvp(argv[2], argv + 2);
  fprintf(stderr, "nsnet-exec: %s: %s\n", argv[2], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
