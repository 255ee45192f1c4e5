/*
 * nsnet-cni: the CNI plugin's front end. A CNI runtime starts a plugin for
 * every ADD and DEL; starting node costs ~85 ms, this costs ~1 ms. It hands
 * the request (the CNI_* environment and stdin) to a running `nsnet cni
 * serve` over a unix socket and prints its answer. When no service runs, it
 * executes the plugin in node instead (bin/nsnet-cni.js beside it).
 *
 * Request:  "KEY=VALUE\0" for each CNI_* variable, "\0", then stdin.
 * Response: the exit status in decimal, "\n", then stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/nsnet/cni.sock"

extern char **environ;

static void fail(int code, const char *message) {
  printf("{\"cniVersion\": \"1.1.0\", \"code\": %d, \"msg\": \"%s\"}\n", code, message);
  exit(1);
}

static int send_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += sent;
    length -= (size_t)sent;
  }
  return 0;
}

/* Runs the plugin in node: bin/nsnet-cni.js two levels above this binary (build/Release). */
static void run_in_node(void) {
  char self[PATH_MAX];
  char script[PATH_MAX + 32];
  if (!realpath("/proc/self/exe", self)) fail(100, "nsnet-cni cannot find itself");
  snprintf(script, sizeof script, "%s/../../bin/nsnet-cni.js", dirname(self));
  const char *node = getenv("NSNET_NODE") ? getenv("NSNET_NODE") : "node";
  execlp(node, node, script, (char *)NULL);
  fail(100, "no nsnet service is running and node could not be started (set NSNET_NODE)");
}

static int connect_service(void) {
  const char *path = getenv("NSNET_CNI_SOCKET") ? getenv("NSNET_CNI_SOCKET") : DEFAULT_SOCKET;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -1;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void send_request(int fd) {
  for (char **entry = environ; *entry; entry++) {
    if (strncmp(*entry, "CNI_", 4) == 0 && send_all(fd, *entry, strlen(*entry) + 1) < 0) fail(11, "the nsnet service went away; try again later");
  }
  if (send_all(fd, "", 1) < 0) fail(11, "the nsnet service went away; try again later");
  char buffer[65536];
  for (;;) {
    ssize_t got = read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (send_all(fd, buffer, (size_t)got) < 0) fail(11, "the nsnet service went away; try again later");
  }
  shutdown(fd, SHUT_WR);
}

/* Copies the answer to stdout and returns its exit status. */
static int relay_response(int fd) {
  char buffer[65536];
  int status = -1;
  int in_status = 1;
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    char *data = buffer;
    size_t length = (size_t)got;
    while (in_status && length > 0) {
      char c = *data++;
      length--;
      if (c == '\n') in_status = 0;
      else if (c >= '0' && c <= '9') status = (status < 0 ? 0 : status * 10) + (c - '0');
      else fail(100, "the nsnet service sent a malformed answer");
    }
    if (length > 0 && fwrite(data, 1, length, stdout) != length) return 1;
  }
  if (in_status || status < 0) fail(11, "the nsnet service ended without answering; try again later");
  fflush(stdout);
  return status > 255 ? 1 : status;
}

int main(void) {
  int fd = connect_service();
  if (fd < 0) run_in_node();
  send_request(fd);
  return relay_response(fd);
}
