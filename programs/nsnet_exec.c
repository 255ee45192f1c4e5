/*
 * nsnet-exec [--etc DIR] NETNS_FD COMMAND [ARGS...]
 *
 * Joins the network namespace open on NETNS_FD, then executes COMMAND. It is
 * what NetNamespace.spawn() starts, so the namespace switch happens in the
 * child process and never in a thread of the Node process. Like `ip netns
 * exec`, it remounts /sys in a private mount namespace so that
 * /sys/class/net lists the namespace's interfaces (best effort), and with
 * --etc it bind-mounts each file of DIR over the file of the same name in
 * /etc, when /etc has one (a namespace's resolv.conf, as iproute2 does with
 * /etc/netns/NAME/). Nothing it mounts propagates back: / is made a slave.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "usage: nsnet-exec [--etc DIR] NETNS_FD COMMAND [ARGS...]\n"

/* A mount namespace of this process's own, whose mounts stay in it. */
static int privateMounts(void) {
  if (unshare(CLONE_NEWNS) < 0) return -1;
  return mount("", "/", "none", MS_SLAVE | MS_REC, NULL);
}

static void remountSys(void) {
  if (umount2("/sys", MNT_DETACH) < 0) return;
  mount("sysfs", "/sys", "sysfs", 0, NULL);
}

/*
 * Binds each entry of dir over /etc's entry of the same name. An entry /etc
 * lacks is skipped (a file cannot be made there without changing the
 * machine's /etc); a directory gone since the caller looked binds nothing.
 * Any other failure is an error: the program would run with the host's file
 * instead of the namespace's.
 */
static int bindEtc(const char* dir) {
  DIR* entries = opendir(dir);
  if (!entries) {
    if (errno == ENOENT) return 0;
    fprintf(stderr, "nsnet-exec: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  struct dirent* entry;
  int result = 0;
  while (result == 0 && (entry = readdir(entries)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    char source[4096], target[4096];
    struct stat existing;
    if ((size_t)snprintf(source, sizeof source, "%s/%s", dir, entry->d_name) >= sizeof source ||
        (size_t)snprintf(target, sizeof target, "/etc/%s", entry->d_name) >= sizeof target) {
      fprintf(stderr, "nsnet-exec: %s/%s: %s\n", dir, entry->d_name, strerror(ENAMETOOLONG));
      result = -1;
    } else if (stat(target, &existing) < 0) {
      if (errno == ENOENT) continue;
      fprintf(stderr, "nsnet-exec: %s: %s\n", target, strerror(errno));
      result = -1;
    } else if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
      fprintf(stderr, "nsnet-exec: bind %s over %s: %s\n", source, target, strerror(errno));
      result = -1;
    }
  }
  closedir(entries);
  return result;
}

int main(int argc, char** argv) {
  const char* etcDir = NULL;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--etc") == 0) {
    if (argc < 3 || argv[2][0] == '\0') {
      fprintf(stderr, USAGE);
      return 125;
    }
    etcDir = argv[2];
    first = 3;
  }
  if (argc < first + 2) {
    fprintf(stderr, USAGE);
    return 125;
  }
  char* end;
  long fd = strtol(argv[first], &end, 10);
  if (*end != '\0' || end == argv[first] || fd < 0) {
    fprintf(stderr, "nsnet-exec: invalid namespace fd: %s\n", argv[first]);
    return 125;
  }
  if (setns((int)fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "nsnet-exec: setns: %s\n", strerror(errno));
    return 125;
  }
  close((int)fd);
  int privateNamespace = privateMounts() == 0;
  if (etcDir) {
    if (!privateNamespace) {
      fprintf(stderr, "nsnet-exec: a mount namespace for %s: %s\n", etcDir, strerror(errno));
      return 125;
    }
    if (bindEtc(etcDir) < 0) return 125;
  }
  if (privateNamespace) remountSys();
  char** command = argv + first + 1;
  execvp(command[0], command);
  fprintf(stderr, "nsnet-exec: %s: %s\n", command[0], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
